"""One shape for every status field: the legal moves as a table next to the model (``Transitions``), and one
transition function per model (``checkout_session_move``, ``order_transition``, ``refund_move``) that checks the
move with it, writes the change and adds the model's history row. Set-based updates (the cleanup) select their
rows by ``sources_of`` the same table."""

from collections.abc import Mapping


class IllegalTransition(Exception):
    """A status change that the model's table of legal moves does not allow."""


class Transitions:
    def __init__(self, moves: Mapping[str, frozenset[str] | set[str]]):
        self.moves = {str(source): frozenset(str(target) for target in targets) for source, targets in moves.items()}

    def allows(self, source: str, target: str) -> bool:
        return str(target) in self.moves[str(source)]

    def sources_of(self, target: str) -> list[str]:
        """The statuses from which ``target`` may be reached."""
        return sorted(source for source, targets in self.moves.items() if str(target) in targets)

    def is_final(self, status: str) -> bool:
        return not self.moves[str(status)]

    def check(self, source: str, target: str, *, what: str) -> None:
        if not self.allows(source, target):
            raise IllegalTransition(f"{what}: {source} -> {target} is not allowed")
