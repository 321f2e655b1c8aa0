"""The one base class of a gate's refusal: bad data, tokenization, a compression step's quality loss, servability.

A gate raises a subclass to stop a run on purpose; the runner records such a run as "refused" with the gate's
reasons (not as "failed") by catching this type. Deliberately free of imports: any layer may raise or catch it.
"""


class GateRefusal(RuntimeError):
    """A gate refused the run's data or model; the message lists the reasons."""
