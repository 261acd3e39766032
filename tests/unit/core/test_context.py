from hub.core.context import Context, Origin


def test_chain_root_and_user() -> None:
    user = Context(Origin.USER, "alice")
    rule = user.child(Origin.RULE, "leave_home")
    command = rule.child(Origin.DEVICE, "lock-1")
    assert [c.origin for c in command.chain()] == [Origin.DEVICE, Origin.RULE, Origin.USER]
    assert command.root() is user
    assert command.user() == "alice"
    assert Context(Origin.RULE, "r").user() is None


def test_ids_are_lazy_unique_and_stable() -> None:
    a, b = Context(), Context()
    assert a._id is None  # nothing generated until asked
    assert a.id != b.id
    assert a.id == a.id
    assert len(a.id) == 28
    child = a.child(Origin.RULE, "x")
    assert child.as_dict()["parent_id"] == a.id
    assert Context(id="fixed").id == "fixed"


def test_ids_sort_by_creation_time() -> None:
    ids = [Context().id for _ in range(50)]
    assert ids == sorted(ids)
