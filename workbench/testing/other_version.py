"""A failing e2e test case is run again under the other Rasa version profile: when it
passes there, it was most likely written for that version (reference section i lists
what changed), which is worth saying instead of leaving a puzzling failure.

The second run must not change the first run's state: it gets the generator as it was
before the case started (a cassette's unused entries, a script's queue), and a recording
generator's model without the recording.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

from workbench.project.choices import RASA_VERSIONS
from workbench.understanding.base import CommandGenerator, ScriptedGenerator
from workbench.understanding.cassette import CassetteGenerator, RecordingGenerator


def other_rasa_version(version: str) -> str:
    others = [v for v in RASA_VERSIONS if v != version]
    return others[-1] if others else version


def hint(version: str) -> str:
    return f"passes under Rasa {version} — written for another version?"


def advice(version: str, active: str) -> str:
    return (
        f'this run used the Rasa {active} profile; set `rasa_version: "{version}"` in '
        f"workbench.yml or pass --rasa-version {version} if the tests are written for it"
    )


def rerun_generator(generator: CommandGenerator) -> Callable[[], CommandGenerator]:
    """Taken before a case runs: makes the generator a second run of that case uses."""
    if isinstance(generator, RecordingGenerator):
        return rerun_generator(generator.inner)
    if isinstance(generator, CassetteGenerator):
        return _rewound(generator, "used")
    if isinstance(generator, ScriptedGenerator):
        return _rewound(generator, "queue")
    return lambda: generator  # the offline generator and models keep no state between calls


def _rewound(generator: CommandGenerator, state: str) -> Callable[[], CommandGenerator]:
    """Copies of `generator` whose list `state` (a cassette's used entries, a script's
    queue) is as it is now; the rest is shared, it does not change while replaying."""
    saved = list(getattr(generator, state))

    def rewound() -> CommandGenerator:
        replay = copy.copy(generator)
        setattr(replay, state, list(saved))
        return replay

    return rewound
