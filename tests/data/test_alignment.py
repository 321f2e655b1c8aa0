"""Translation groups: same-position links confirmed by similarity, shifted translations, copies of a text."""

import numpy as np

from data import alignment
from data.alignment import Line


def _unit(*values):
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def test_links_need_similarity_and_copies_join_anywhere():
    lines = [Line("en", "food", "food", 0, 0, "I like bread"),       # 0
             Line("it", "food", "food", 0, 0, "Mi piace il pane"),   # 1: same position, similar -> 0
             Line("fa", "food", "food", 0, 0, "something else"),     # 2: same position, unrelated -> alone
             Line("fa", "food", "food", 3, 1, "نان دوست دارم"),       # 3: shifted translation of 0 -> 0
             Line("en", "food", "food", 1, 0, "Hello!"),             # 4
             Line("nl", "greetings", "greetings", 5, 0, "hello"),    # 5: same text as 4 -> 4
             Line("it", "food", "food", 1, 0, "ciao")]               # 6: same position as 4, unrelated
    vectors = np.stack([_unit(1, 0, 0, 0), _unit(1, 0.2, 0, 0), _unit(0, 0, 1, 0), _unit(1, 0.1, 0, 0),
                        _unit(0, 1, 0, 0), _unit(0, 1, 0, 0.1), _unit(0, 0, 0, 1)])
    assert alignment.group_lines(lines, vectors) == [0, 0, 1, 0, 2, 2, 3]
    assert alignment.group_lines(lines, vectors, neighbour_threshold=1.01) == [0, 0, 1, 2, 3, 3, 4]


def test_comparable_text_ignores_case_punctuation_and_emoji():
    assert alignment.comparable_text("  Hello,   WORLD!! 😀") == alignment.comparable_text("hello world")
    assert alignment.comparable_text("?!") == ""
    assert alignment.comparable_text("Ｈｅｌｌｏ") == "hello"


def test_a_same_position_link_needs_each_line_among_the_others_nearest():
    def scene(closer_lines):
        lines = [Line("en", "food", "food", 0, 0, "a"), Line("it", "food", "food", 0, 0, "b")]
        vectors = [_unit(1, 0, 0), _unit(0.85, np.sqrt(1 - 0.85 ** 2), 0)]
        for n in range(closer_lines):
            lines.append(Line("it", "food", "food", 5 + n, 0, f"other {n}"))
            vectors.append(_unit(0.9, 0, np.sqrt(1 - 0.81)))
        return lines, np.stack(vectors)

    assert list(alignment.position_links(*scene(2))) == [(0, 1)]
    assert list(alignment.position_links(*scene(alignment.POSITION_RANK))) == []
