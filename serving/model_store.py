"""Versions of each configured model: discovery on disk, version policy, labels, loading and unloading.

Rules follow TF Serving's AspiredVersionsManager with the AvailabilityPreservingPolicy:
- a version dir is an integer-named directory under the model's base path; the policy (latest N / all /
  specific) picks the aspired versions, and new ones load highest first (retried `max_num_load_retries` times,
  `load_retry_interval_seconds` apart; the last error stays visible in the status as state END);
- a version takes traffic only once loaded and warmed (AVAILABLE); requests without a version go to the highest
  AVAILABLE one;
- a version that is no longer aspired is unloaded only when an aspired version is AVAILABLE (or none is aspired
  at all), and only after the requests that hold it have finished (UNLOADING -> END);
- a label may only be moved onto an AVAILABLE version (FAILED_PRECONDITION otherwise), except a new label when
  `allow_version_labels_for_unavailable_models` is set. The labels of the initial config are taken as given,
  since nothing is loaded yet (upstream needs that flag to start with labels).

Deviation that makes pushes safer: a dir counts as a version only once it holds saved_model.pb(txt)
(`layout.versions_on_disk`), so a copy in progress is not loaded half-written.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import enum
import logging
import threading
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Sequence, Set

from serving.config import ServedModel
from serving.errors import FailedPrecondition, Internal, InvalidArgument, NotFound, ServingError
from serving.layout import versions_on_disk

if TYPE_CHECKING:
    from serving.servable import Servable

log = logging.getLogger(__name__)


class State(enum.Enum):
    """ModelVersionStatus.State of tensorflow_serving/apis/get_model_status.proto."""

    START = 10
    LOADING = 20
    AVAILABLE = 30
    UNLOADING = 40
    END = 50


@dataclasses.dataclass(frozen=True)
class VersionStatus:
    version: int
    state: State
    error: Optional[ServingError] = None


@dataclasses.dataclass(frozen=True)
class StoreOptions:
    max_num_load_retries: int = 5
    load_retry_interval_seconds: float = 60.0
    num_load_threads: int = 2
    allow_version_labels_for_unavailable_models: bool = False
    prefer_tflite_model: bool = False  # a dir holding model.tflite is a version too


class _Version:
    __slots__ = ("model", "version", "path", "state", "error", "servable", "in_flight", "retired", "attempts")

    def __init__(self, model: str, version: int, path: str):
        self.model, self.version, self.path = model, version, path
        self.state = State.START
        self.error: Optional[ServingError] = None
        self.servable: Optional["Servable"] = None
        self.in_flight = 0
        self.retired = False  # ended and no longer aspired: may load again if it comes back
        self.attempts = 0  # load attempts finished


def _load_error(entry: _Version, error: BaseException) -> ServingError:
    message = error.message if isinstance(error, ServingError) else str(error)
    cls = type(error) if isinstance(error, ServingError) else Internal
    return cls(f"Loading servable: {{name: {entry.model} version: {entry.version}}} failed: {message}")


class VersionHandle:
    """A version held for one request; the store does not unload it until the handle is released."""

    __slots__ = ("_store", "_entry", "servable")

    def __init__(self, store: "ModelStore", entry: _Version):
        self._store, self._entry, self.servable = store, entry, entry.servable

    def __enter__(self) -> "Servable":
        return self.servable

    def __exit__(self, *exc) -> None:
        self._store._release(self._entry)


class ModelStore:
    """Owns every version of every configured model; thread-safe."""

    def __init__(self, models: Sequence[ServedModel], load: Callable[[str, int, str], "Servable"],
                 options: StoreOptions = StoreOptions()):
        self._load_fn, self._options = load, options
        self._lock = threading.Condition(threading.Lock())
        self._models: Dict[str, ServedModel] = {m.name: m for m in models}
        self._labels: Dict[str, Dict[str, int]] = {m.name: m.label_map for m in models}
        self._versions: Dict[str, Dict[int, _Version]] = {}
        self._aspired: Dict[str, Set[int]] = {}
        self._empty: Set[str] = set()
        self._listeners: List[Callable[[Dict[str, bool]], None]] = []
        self._published: Dict[str, bool] = {}
        self._closed = threading.Event()
        self._loaders = concurrent.futures.ThreadPoolExecutor(max(1, options.num_load_threads), "load")
        self._unloaders = concurrent.futures.ThreadPoolExecutor(2, "unload")

    # ---- configuration -------------------------------------------------------------------------------------
    def reconcile(self) -> None:
        """Scans every base path and starts the loads and unloads that the policies call for."""
        with self._lock:
            models = list(self._models.values())
        found = {m.name: versions_on_disk(m.base_path, self._options.prefer_tflite_model) for m in models}
        with self._lock:
            if self._closed.is_set():
                return
            for name, model in self._models.items():
                # An empty listing (a missing or unreadable base path) keeps what is served, as upstream.
                if found.get(name):
                    self._aspire(name, found[name], set(model.policy.select(found[name])))
                    self._empty.discard(name)
                elif name in found and name not in self._empty:
                    self._empty.add(name)  # said once, not on every poll
                    log.warning("no versions of model %s found under %s", name, model.base_path)
            for name in set(self._versions) - set(self._models):
                self._aspire(name, {}, set())
            self._publish()  # a model added with nothing on disk yet changes no version, but is unavailable

    def reload(self, models: Sequence[ServedModel]) -> None:
        """Replaces the whole model list (HandleReloadConfigRequest); labels obey the availability rule."""
        with self._lock:
            for model in models:
                for label, version in model.labels:
                    self._check_label(model.name, label, version)
            self._models = {m.name: m for m in models}
            self._labels = {m.name: m.label_map for m in models}
        self.reconcile()

    def _check_label(self, name: str, label: str, version: int) -> None:
        current = self._labels.get(name, {}).get(label)
        if self._options.allow_version_labels_for_unavailable_models and current in (None, version):
            return
        entry = self._versions.get(name, {}).get(version)
        if entry is None or entry.state is not State.AVAILABLE:
            raise FailedPrecondition(f"Request to assign label to version {version} of model {name}, which is "
                                     "not currently available for inference")

    def _aspire(self, name: str, paths: Dict[int, str], aspired: Set[int]) -> None:
        versions = self._versions.setdefault(name, {})
        self._aspired[name] = aspired
        for version in sorted(aspired, reverse=True):
            if version not in versions:
                versions[version] = _Version(name, version, paths[version])
                self._loaders.submit(self._load, versions[version])
        self._replan(name)

    def _replan(self, name: str) -> None:
        """Marks ended versions retired and unloads what the availability-preserving policy allows."""
        versions, aspired = self._versions.get(name, {}), self._aspired.get(name, set())
        for version, entry in versions.items():
            if version not in aspired and entry.state is State.END:
                entry.retired = True
        # An aspired version that ended without a load error (unloaded, or dropped mid-load) loads again; one
        # that failed loads again only after leaving the aspired set, as upstream.
        for version in sorted(aspired, reverse=True):
            entry = versions.get(version)
            if entry is not None and entry.state is State.END and (entry.retired or entry.error is None):
                versions[version] = _Version(name, version, entry.path)
                self._loaders.submit(self._load, versions[version])
        ready = sorted(v for v, e in versions.items() if v not in aspired and e.state is State.AVAILABLE)
        aspired_ready = any(versions[v].state is State.AVAILABLE for v in aspired if v in versions)
        to_unload = ready if (not aspired or aspired_ready) else ready[:-1]
        for version in to_unload:
            versions[version].state = State.UNLOADING
            self._unloaders.submit(self._unload, versions[version])
        self._lock.notify_all()
        self._publish()

    def _publish(self) -> None:
        available = {name: self._available(name) for name in self._models}
        if available != self._published:
            self._published = available
            for listener in self._listeners:
                listener(dict(available))

    # ---- loading and unloading ----------------------------------------------------------------------------
    def _load(self, entry: _Version) -> None:
        attempts = 1 + max(0, self._options.max_num_load_retries)
        error: Optional[BaseException] = None
        for attempt in range(attempts):
            if attempt and self._closed.wait(max(0.0, self._options.load_retry_interval_seconds)):
                break
            with self._lock:
                if self._closed.is_set() or entry.version not in self._aspired.get(entry.model, set()):
                    break
                entry.state = State.LOADING
            try:
                servable = self._load_fn(entry.model, entry.version, entry.path)
            except Exception as caught:  # any failure of a user's model must land in its status, not kill us
                error = caught
                log.warning("loading %s version %s failed (attempt %d of %d): %s", entry.model, entry.version,
                            attempt + 1, attempts, caught)
                with self._lock:
                    entry.attempts += 1
                    entry.error = _load_error(entry, caught)  # visible in the status while it retries
                    self._lock.notify_all()
                continue
            with self._lock:
                entry.servable, entry.state, entry.error = servable, State.AVAILABLE, None
                self._replan(entry.model)
            return
        with self._lock:
            entry.state = State.END
            if error is not None:
                entry.error = _load_error(entry, error)
            self._replan(entry.model)

    def _unload(self, entry: _Version) -> None:
        with self._lock:
            self._lock.wait_for(lambda: entry.in_flight == 0)
            servable, entry.servable = entry.servable, None
        if servable is not None:
            servable.close()
        with self._lock:
            entry.state = State.END
            self._replan(entry.model)

    # ---- requests ------------------------------------------------------------------------------------------
    def acquire(self, name: str, version: Optional[int] = None, label: Optional[str] = None) -> VersionHandle:
        """The version a request addresses (a number, a label, or the highest AVAILABLE), held until released."""
        with self._lock:
            if name not in self._models:
                raise NotFound(f"Servable not found for request: Latest({name}): model '{name}' is not served")
            versions = self._versions.get(name, {})
            if label:
                version = self._label_version(name, label)
            if version is None:
                entry = max((e for e in versions.values() if e.state is State.AVAILABLE),
                            key=lambda e: e.version, default=None)
                if entry is None:
                    raise NotFound(f"Servable not found for request: Latest({name}): no version of model {name} "
                                   "is AVAILABLE yet")
            else:
                entry = versions.get(version)
                if entry is None or entry.state is not State.AVAILABLE:
                    state = "is not on disk or not aspired" if entry is None else f"is {entry.state.name}"
                    raise NotFound(f"Servable not found for request: Specific({name}, {version}): version "
                                   f"{version} of model {name} {state}")
            entry.in_flight += 1
            return VersionHandle(self, entry)

    def _release(self, entry: _Version) -> None:
        with self._lock:
            entry.in_flight -= 1
            if entry.in_flight == 0 and entry.state is State.UNLOADING:
                self._lock.notify_all()

    def _label_version(self, name: str, label: str) -> int:
        version = self._labels.get(name, {}).get(label)
        if version is None:
            raise InvalidArgument(f"Unrecognized servable version label: {label} (model {name} has labels: "
                                  f"{', '.join(sorted(self._labels.get(name, {}))) or 'none'})")
        return version

    # ---- introspection -------------------------------------------------------------------------------------
    def status(self, name: str, version: Optional[int] = None, label: Optional[str] = None) -> List[VersionStatus]:
        """GetModelStatus: every known version of a model, or one version (by number or label)."""
        with self._lock:
            versions = self._versions.get(name)
            if not versions:
                raise NotFound(f"Could not find any versions of model {name}")
            if label:
                version = self._label_version(name, label)
            if version is not None:
                if version not in versions:
                    raise NotFound(f"Could not find version {version} of model {name}")
                versions = {version: versions[version]}
            return [VersionStatus(v, e.state, e.error) for v, e in sorted(versions.items())]

    def watch_availability(self, listener: Callable[[Dict[str, bool]], None]) -> None:
        """Calls `listener({model: has an AVAILABLE version})` for every configured model now, and again each time
        that map changes (a version becomes or stops being AVAILABLE, the config adds or removes a model).

        The store's lock is held during the call, so the listener sees changes in order; it must be quick and
        must not call back into the store.
        """
        with self._lock:
            self._publish()
            self._listeners.append(listener)
            listener(dict(self._published))

    def labels(self, name: str) -> Dict[str, int]:
        with self._lock:
            return dict(self._labels.get(name, {}))

    def model_names(self) -> List[str]:
        with self._lock:
            return sorted(self._models)

    def available(self, name: str) -> bool:
        """True when the model is configured and has an AVAILABLE version."""
        with self._lock:
            return name in self._models and self._available(name)

    def _available(self, name: str) -> bool:
        return any(e.state is State.AVAILABLE for e in self._versions.get(name, {}).values())

    def ready(self) -> bool:
        """True when every configured model has an AVAILABLE version."""
        with self._lock:
            return all(self._available(name) for name in self._models)

    def wait_until_attempted(self, timeout: float) -> bool:
        """Blocks until every configured version is AVAILABLE, ended, or has failed one load attempt (and is
        retrying); False on timeout."""
        def attempted() -> bool:
            return all(e.state not in (State.START, State.LOADING) or e.attempts
                       for name in self._models for e in self._versions.get(name, {}).values())

        with self._lock:
            return self._lock.wait_for(attempted, timeout)

    def close(self) -> None:
        """Stops loading and unloads everything (waiting for in-flight requests)."""
        self._closed.set()
        with self._lock:
            self._aspired = {name: set() for name in self._versions}
            for name in list(self._versions):
                self._replan(name)
        self._loaders.shutdown(wait=True)
        self._unloaders.shutdown(wait=True)
