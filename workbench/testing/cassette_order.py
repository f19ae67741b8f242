"""Whether a cassette replays the same whatever order the test cases run in.

Entries with `test_case:` are the case's own and available afresh each time it starts.
Entries without are one pool for the run, taken in run order (`recorded.py`): when two
cases may take the same one, which case gets which entry (or finds none left) depends
on which ran first, and a parallel run (`parallel.py`, one cassette per worker) could
differ from the serial one. `order_dependence` finds such an entry from the messages
the selected cases send; an entry that only one case can take, or a message whose
entries all hold the same reply and are enough for every time it is sent, is safe.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from workbench.project.model import TestCase, TestFile
from workbench.understanding.base import CommandGenerator
from workbench.understanding.recorded import RecordedOutputGenerator, Recording


def order_dependence(
    generator: CommandGenerator, selected: Sequence[tuple[TestFile, TestCase]]
) -> str | None:
    """Why the selected cases replay differently in another order (None: they do not)."""
    if not isinstance(generator, RecordedOutputGenerator):
        return None
    shared = [r for r in generator.recordings if r.test_case is None]
    if not shared:
        return None
    senders = _shared_senders(generator, selected)
    by_text: dict[str, list[Recording]] = {}
    for recording in shared:
        by_text.setdefault(recording.user.strip(), []).append(recording)
    for text, group in by_text.items():
        answered = [_answers(generator, recording, senders) for recording in group]
        takers = {place for messages in answered for m in messages for place in senders[m]}
        if len(takers) <= 1:
            continue
        alike = len({(r.completion, r.failure) for r in group}) == 1
        only_this = all(messages <= {text} for messages in answered)
        if alike and only_this and len(group) >= len(senders.get(text, ())):
            continue  # every case gets the same reply, and there is one for each time
        return (
            f"the cassette's entry for {text!r} has no `test_case:` and {len(takers)} test "
            "cases send that message: such entries are taken in run order"
        )
    return None


def _shared_senders(
    generator: RecordedOutputGenerator, selected: Sequence[tuple[TestFile, TestCase]]
) -> dict[str, list[int]]:
    """message -> the case (its place) of each time it is sent and may reach the shared
    entries: a case's own entries with that text answer it first."""
    keyed = [r for r in generator.recordings if r.test_case is not None]
    senders: dict[str, list[int]] = {}
    for place, (test_file, case) in enumerate(selected):
        own: Counter[str] = Counter()
        if keyed:
            generator.begin_test_case(case.name, test_file.path)
            own.update(r.user.strip() for r in keyed if generator._belongs(r))
            generator.begin_test_case(None)
        for step in case.steps:
            text = str(step.value).strip() if step.kind == "user" else ""
            if not text:
                continue
            if own[text] > 0:
                own[text] -= 1
            else:
                senders.setdefault(text, []).append(place)
    return senders


def _answers(
    generator: RecordedOutputGenerator, recording: Recording, senders: dict[str, list[int]]
) -> set[str]:
    """The sent messages that `recording` can answer: its own text, and with masked
    secrets, the messages with values in their places."""
    text = recording.user.strip()
    found = {text} if text in senders else set()
    unmask = generator.unmask
    if unmask is not None:
        found.update(m for m in senders if m != text and unmask(text, m) is not None)
    return found
