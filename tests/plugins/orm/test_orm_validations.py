"""Validations on models: declared in ``Annotated[...]`` and ``@validates``, run by
``validate()``, enforced by ``save()``/``create()``/``update()``, against a real PostgreSQL."""

from __future__ import annotations

import decimal
import re
from pathlib import Path
from typing import Annotated, Any

import pytest
import trio
from doc_examples import run_example

import rum
from rum_orm import (
    Database,
    Errors,
    Model,
    ModelDefinitionError,
    OrmError,
    ValidationError,
    absence,
    check,
    confirmation,
    exclusion,
    inclusion,
    length,
    matches,
    numericality,
    presence,
    transaction,
    uniqueness,
    validates,
    virtual,
)

pytestmark = pytest.mark.postgres

EMAIL = r"^[^@\s]+@[^@\s]+$"
BANNED = {"spam.example"}


async def not_banned(record: Any, value: str | None) -> str | None:
    """An async custom validator: awaits (as one that asks a service would)."""
    await trio.sleep(0)
    if value and value.rsplit("@", 1)[-1] in BANNED:
        return f"uses a banned domain ({value.rsplit('@', 1)[-1]})"
    return None


class Member(Model):
    account_id: int
    email: Annotated[str, presence(), length(max=60), matches(EMAIL),
                     uniqueness(scope="account_id", case_sensitive=False), check(not_banned)]
    nickname: Annotated[str | None, length(min=2, max=12), exclusion(["admin", "root"])] = None
    role: Annotated[str, inclusion(["member", "owner"])] = "member"
    age: Annotated[int | None, numericality(integer=True, ge=13, lt=130)] = None
    score: Annotated[decimal.Decimal | None, numericality(between=(0, 10))] = None
    pin: Annotated[str | None, length(is_=4), matches(r"^\d+$")] = None
    password: Annotated[str | None, virtual(), confirmation(), length(min=8),
                        presence(on="create")] = None
    deleted_note: Annotated[str | None, absence(if_=lambda m: m.role == "owner")] = None

    @validates("nickname")
    def nickname_not_email(self, value: str | None) -> str | None:
        if value and "@" in value:
            return "must not be an e-mail address"
        return None

    @validates
    async def owners_are_adults(self) -> str | None:
        if self.role == "owner" and (self.age is None or self.age < 18):
            return "An owner must be an adult"
        return None


SCHEMA = """
CREATE TABLE members (
    id bigserial PRIMARY KEY,
    account_id bigint NOT NULL,
    email text NOT NULL,
    nickname text,
    role text NOT NULL DEFAULT 'member',
    age integer,
    score numeric(4, 2),
    pin text,
    deleted_note text
);
"""


@pytest.fixture
async def members(db: Database) -> Database:
    await db.execute(SCHEMA)
    return db


def good(**changes: Any) -> Member:
    values: dict[str, Any] = {"account_id": 1, "email": "ann@example.com",
                              "password": "long enough"}
    return Member({**values, **changes})


# -- declaration ------------------------------------------------------------------------------


def test_annotated_fields_keep_their_types_and_defaults() -> None:
    fields = Member.__fields__
    assert list(fields) == ["id", "account_id", "email", "nickname", "role", "age", "score",
                            "pin", "deleted_note"]
    assert fields["email"].annotation is str and not fields["email"].optional
    assert fields["nickname"].optional and fields["nickname"].base_type is str
    assert fields["role"].default == "member" and fields["age"].default is None
    # not columns: the virtual password and its confirmation
    assert list(Member.__attributes__) == ["password", "password_confirmation"]
    member = Member(account_id=1, email="a@b.c")
    assert member.role == "member" and member.password is None
    assert member.password_confirmation is None


def test_validators_are_listed_per_field_with_html_attributes() -> None:
    kinds = [type(v).__name__ for v in Member.validators_for("email")]
    assert kinds == ["presence", "length", "matches", "uniqueness", "check"]
    assert [type(v).__name__ for v in Member.validators_for("nickname")] == [
        "length", "exclusion", "method_check"]
    assert [v.fn.__name__ for v in Member.validators_for("base")] == ["owners_are_adults"]
    assert Member.validators_for("role")[0].values == ["member", "owner"]
    assert Member.validators_for("account_id") == ()
    with pytest.raises(OrmError, match="no field 'emial'; did you mean 'email'"):
        Member.validators_for("emial")
    assert Member.html_attributes_for("email") == {"required": True, "maxlength": 60,
                                                   "pattern": EMAIL[1:-1]}
    assert Member.html_attributes_for("nickname") == {"minlength": 2, "maxlength": 12}
    assert Member.html_attributes_for("age") == {"min": 13, "max": 129, "step": 1}
    assert Member.html_attributes_for("score") == {"min": 0, "max": 10}
    assert Member.html_attributes_for("pin") == {"minlength": 4, "maxlength": 4,
                                                 "pattern": r"\d+"}
    # conditional validators say nothing: they may not apply to the form shown
    assert Member.html_attributes_for("password") == {"minlength": 8}


def test_bad_declarations_are_refused_clearly() -> None:
    with pytest.raises(ModelDefinitionError, match="length\\(\\) needs min=, max= or is_="):
        length()
    with pytest.raises(ModelDefinitionError, match="min is above max"):
        length(min=5, max=2)
    with pytest.raises(ModelDefinitionError, match="not a regular expression"):
        matches("(")
    with pytest.raises(ModelDefinitionError, match="on must be 'create', 'update'"):
        presence(on="save")  # type: ignore[arg-type]
    with pytest.raises(ModelDefinitionError, match="give \\(low, high\\)"):
        numericality(between=(5, 1))
    with pytest.raises(ModelDefinitionError, match="call the validator: presence\\(\\)"):
        class Forgot(Model):
            name: Annotated[str, presence]
    with pytest.raises(ModelDefinitionError, match="may not be named 'errors'"):
        class Clash(Model):
            errors: str
    with pytest.raises(OrmError, match="@validates\\('emali'\\) on check_it\\(\\)"):
        class Typo(Model):
            email: str

            @validates("emali")
            def check_it(self, value: str) -> None:
                return None


def test_a_string_annotation_that_cannot_be_evaluated_is_an_error() -> None:
    local = presence()
    with pytest.raises(ModelDefinitionError, match="cannot evaluate the annotation"):
        class Lost(Model):
            name: Annotated[str, local]  # a string (future annotations) naming a local
    assert local  # used


# -- validate() -------------------------------------------------------------------------------


async def test_each_validator_reports_a_clear_message(members: Database) -> None:
    member = Member(account_id=1, email="  ", nickname="x", role="boss", age=12, score="11",
                    pin="12a", password="short", password_confirmation="other")
    assert await member.validate() is False
    assert member.errors.to_dict() == {
        "email": ["can't be blank", "is invalid"],
        "nickname": ["is too short (at least 2 characters)"],
        "role": ["must be one of: member, owner"],
        "age": ["must be at least 13"],
        "score": ["must be between 0 and 10"],
        "pin": ["must be exactly 4 characters long", "is invalid"],
        "password": ["is too short (at least 8 characters)"],
        "password_confirmation": ["doesn't match Password"],
    }
    assert member.errors.full_messages()[:3] == [
        "Email can't be blank", "Email is invalid", "Nickname is too short (at least 2 "
        "characters)"]

    member = good(nickname="root", age=200, score="ten", pin="12345")
    assert not await member.validate()
    assert member.errors["nickname"] == ["is not allowed"]
    assert member.errors["age"] == ["must be less than 130"]
    assert member.errors["score"] == ["must be a number"]
    assert member.errors["pin"] == ["must be exactly 4 characters long"]
    member = good(age=20.5, email="x" * 60 + "@a.b", nickname="me@home")
    assert not await member.validate()
    assert member.errors["age"] == ["must be a whole number"]
    assert member.errors["email"] == ["is too long (at most 60 characters)"]
    assert member.errors["nickname"] == ["must not be an e-mail address"]

    member = good(nickname="Ann", age=30, score=decimal.Decimal("9.5"), pin="1234",
                  password_confirmation="long enough")
    assert await member.validate() is True
    assert not member.errors and member.errors.to_dict() == {}


async def test_conditions_and_the_record_wide_hook(members: Database) -> None:
    owner = good(role="owner", age=15, deleted_note="gone")
    assert not await owner.validate()
    assert owner.errors.to_dict() == {"deleted_note": ["must be blank"],
                                      "base": ["An owner must be an adult"]}
    assert owner.errors.full_messages() == ["Deleted note must be blank",
                                            "An owner must be an adult"]
    member = good(deleted_note="gone")  # absence only applies to owners
    assert await member.validate()
    # presence(on="create"): a new member needs a password, a saved one does not
    member = good(password=None)
    assert not await member.validate()
    assert member.errors["password"] == ["can't be blank"]
    await member.save(validate=False)
    assert member.id is not None
    assert await member.validate(), member.errors


async def test_async_custom_validator(members: Database) -> None:
    member = good(email="eve@spam.example")
    assert not await member.validate()
    assert member.errors["email"] == ["uses a banned domain (spam.example)"]


def raises(record: Any, value: Any) -> None:
    if value == "bad":
        raise ValueError("is bad news")


async def test_custom_validators_return_or_raise_messages(members: Database) -> None:
    class Note(Model):
        __table__ = "members"
        account_id: int
        email: Annotated[str, check(raises), check(lambda r, v: v != "no", message="says no"),
                         check(lambda r, v: ["one", "two"] if v == "many" else None)]

    for value, expected in (("bad", ["is bad news"]), ("no", ["says no"]),
                            ("many", ["one", "two"])):
        note = Note(account_id=1, email=value)
        assert not await note.validate()
        assert note.errors["email"] == expected

    class Sloppy(Model):
        __table__ = "members"
        email: Annotated[str, check(lambda r, v: 0)] = ""

    with pytest.raises(TypeError, match="a validator returned 0; return None or True"):
        await Sloppy().validate()


# -- uniqueness against real rows ----------------------------------------------------------------


async def test_uniqueness_checks_the_table(members: Database) -> None:
    first = await Member.create(account_id=1, email="ann@example.com", password="long enough")
    assert first.id is not None and first.email == "ann@example.com"

    twin = good(email="ANN@example.com")  # case-insensitive
    assert not await twin.validate()
    assert twin.errors["email"] == ["is already taken"]
    other_account = good(account_id=2, email="ANN@example.com")  # scoped to account_id
    assert await other_account.validate()

    # the record itself is not a duplicate of itself on update
    await first.update(nickname="annie")
    assert (await Member.find(first.id).fetch()).nickname == "annie"

    second = await Member.create(account_id=1, email="bob@example.com",
                                 password="long enough")
    with pytest.raises(ValidationError) as info:
        await second.update(email="Ann@Example.com")
    assert info.value.errors["email"] == ["is already taken"]
    assert (await Member.find(second.id).fetch()).email == "bob@example.com"  # unchanged


async def test_uniqueness_runs_on_the_given_connection(members: Database) -> None:
    async with transaction() as tx:
        await Member.create(account_id=7, email="in@tx.com", password="long enough")
        # seen from the transaction that wrote it...
        assert not await good(account_id=7, email="in@tx.com").validate(tx)
        # ...and from the pool only once committed
        assert await good(account_id=7, email="in@tx.com").validate(members)
    assert not await good(account_id=7, email="in@tx.com").validate(members)


# -- save(), create(), update() ------------------------------------------------------------------


async def test_save_refuses_an_invalid_record(members: Database) -> None:
    member = good(email="not an address", age=5)
    with pytest.raises(ValidationError) as info:
        await member.save()
    exc = info.value
    assert exc.model is member and exc.errors is member.errors
    assert str(exc) == "Member is invalid: Email is invalid; Age must be at least 13"
    assert isinstance(exc, rum.errors.UnprocessableEntity) and exc.status == 422
    assert exc.data == {"email": ["is invalid"], "age": ["must be at least 13"]}
    assert await Member.all().count() == 0  # nothing written

    await member.save(validate=False)  # skipping validation writes it as it is
    assert await Member.all().count() == 1

    with pytest.raises(ValidationError, match="Email can't be blank"):
        await Member.create(account_id=1, email="", password="long enough")
    with pytest.raises(ValidationError, match="Password can't be blank"):
        await Member.create({"account_id": 1, "email": "x@y.z"})
    assert await Member.all().count() == 1
    made = await Member.create(account_id=1, email="", validate=False)
    assert made.email == ""


async def test_virtual_attributes_are_never_stored(members: Database) -> None:
    member = await Member.create(account_id=1, email="v@example.com", password="long enough",
                                 password_confirmation="long enough")
    assert "password" not in member.to_dict()
    member = good(email="w@example.com", password_confirmation="long enough")
    assert "password" not in member.to_dict() and "password_confirmation" not in \
        member.to_dict()
    await member.save()
    assert member.password is None  # forgotten once saved
    with pytest.raises(ValidationError, match="Password confirmation doesn't match Password"):
        await member.update(password="another one", password_confirmation="another 1")


async def test_upsert_skips_uniqueness_of_its_conflict_columns(members: Database) -> None:
    await members.execute("CREATE UNIQUE INDEX ON members (account_id, email)")
    await Member.create(account_id=1, email="u@example.com", password="long enough")
    again = await Member.create(account_id=1, email="u@example.com", nickname="uu",
                                password="long enough").unique_by("account_id", "email")
    assert again.nickname == "uu" and await Member.all().count() == 1
    with pytest.raises(ValidationError, match="is already taken"):
        await Member.create(account_id=1, email="u@example.com", password="long enough")


async def test_find_or_create_takes_virtual_attributes(members: Database) -> None:
    made = await Member.find_or_create_by(account_id=3, email="f@example.com",
                                          password="long enough")
    again = await Member.find_or_create_by(account_id=3, email="f@example.com",
                                           password="long enough")
    assert again.id == made.id and await Member.all().count() == 1
    with pytest.raises(ValidationError, match="Password can't be blank"):
        await Member.find_or_create_by(account_id=3, email="g@example.com")


def test_migrations_see_the_columns_not_the_validators() -> None:
    from rum_orm.schema import model_table

    class Plain(Model):
        __table__ = "members"
        account_id: int
        email: str
        nickname: str | None = None
        role: str = "member"
        age: int | None = None
        score: decimal.Decimal | None = None
        pin: str | None = None
        deleted_note: str | None = None

    validated, plain = model_table(Member), model_table(Plain)
    assert list(validated.columns) == list(plain.columns)  # no password, no confirmation
    assert validated.columns == plain.columns


# -- Errors ---------------------------------------------------------------------------------------


def test_errors_is_a_mapping_of_messages() -> None:
    errors = Errors({"user_id": "Customer"})
    assert not errors and len(errors) == 0 and errors.get("email", []) == []
    errors.add("email", "can't be blank")
    errors.add("email", "can't be blank")  # once
    errors.add("user_id", "must exist")
    errors.add("base", "Orders are closed today")
    errors.add("password_confirmation", "doesn't match Password")
    assert errors and list(errors) == ["email", "user_id", "base", "password_confirmation"]
    assert errors["email"] == ["can't be blank"] and errors.count == 4
    assert errors.full_messages() == ["Email can't be blank", "Customer must exist",
                                      "Orders are closed today",
                                      "Password confirmation doesn't match Password"]
    assert errors.full_messages_for("email") == ["Email can't be blank"]
    assert errors == {"email": ["can't be blank"], "user_id": ["must exist"],
                      "base": ["Orders are closed today"],
                      "password_confirmation": ["doesn't match Password"]}
    copy = errors.to_dict()
    copy["email"].append("changed")
    assert errors["email"] == ["can't be blank"]
    with pytest.raises(KeyError):
        errors["nickname"]
    errors.merge({"nickname": "is taken", "email": ["is invalid"]})
    assert errors["nickname"] == ["is taken"] and errors["email"][-1] == "is invalid"
    errors.clear()
    assert not errors


def test_messages_can_be_replaced() -> None:
    class Shout(Model):
        code: Annotated[str, presence(message="is required, please"),
                        length(max=3, message="has more than {count} characters")] = ""
        size: Annotated[int, numericality(gt=0, message="must be positive")] = 0

    shout = Shout(code="abcd", size=0)
    assert not trio.run(shout.validate)
    assert shout.errors.to_dict() == {"code": ["has more than 3 characters"],
                                      "size": ["must be positive"]}
    shout = Shout()
    assert not trio.run(shout.validate)
    assert shout.errors["code"] == ["is required, please"]


async def test_a_concurrent_duplicate_stopped_by_the_index_is_a_validation_error(
        members: Database) -> None:
    """Two sign-ups validate at the same instant (neither sees the other's uncommitted row);
    the unique index stops the second, and save() says so as a ValidationError."""
    await members.execute("CREATE UNIQUE INDEX ON members (account_id, lower(email))")
    first_inserted, second_blocked = trio.Event(), trio.Event()
    outcome: dict[str, Any] = {}

    async def first() -> None:
        async with members.transaction() as tx:
            await good(email="race@example.com").save(tx)
            first_inserted.set()
            await second_blocked.wait()
            await trio.sleep(0.2)  # the second insert is waiting on the index meanwhile

    async def second() -> None:
        await first_inserted.wait()
        async with members.transaction() as tx:
            member = good(email="Race@example.com")
            assert await member.validate(tx)  # the first row is not committed yet
            second_blocked.set()
            try:
                await member.save(tx, validate=False)  # validated a moment ago
            except ValidationError as exc:
                outcome["error"] = exc

    async with trio.open_nursery() as nursery:
        nursery.start_soon(first)
        nursery.start_soon(second)
    exc = outcome["error"]
    assert exc.errors.to_dict() == {"email": ["is already taken"]}
    assert isinstance(exc.__cause__, Exception) and \
        getattr(exc.__cause__, "sqlstate", None) == "23505"
    assert await Member.all().count() == 1

    # a unique violation on a column without a uniqueness validator stays what it was
    await members.execute("CREATE UNIQUE INDEX ON members (nickname)")
    await good(email="n1@example.com", nickname="dup").save()
    with pytest.raises(Exception) as info:
        await good(email="n2@example.com", nickname="dup").save()
    assert not isinstance(info.value, ValidationError)
    assert getattr(info.value, "sqlstate", None) == "23505"


# -- the guide ------------------------------------------------------------------------------------

GUIDE = Path(__file__).resolve().parents[3] / "docs" / "validations.md"


async def test_validations_guide_examples_run(db: Database) -> None:
    text = GUIDE.read_text(encoding="utf-8")
    schema = re.search(r"```sql\n(.*?)```", text, re.S)
    assert schema is not None
    await db.execute(schema.group(1))
    namespace: dict[str, object] = {"__name__": "validations_guide"}
    examples = [(text.count("\n", 0, m.start()) + 2, m.group(1))
                for m in re.finditer(r"```python\n(.*?)```", text, re.S)]
    assert len(examples) >= 8
    for line, code in examples:
        await run_example(GUIDE, line, code, namespace, dont_inherit=True)
    # the examples did what they say: one account written, the invalid ones not
    assert await db.fetchval("SELECT count(*) FROM accounts") == 1
