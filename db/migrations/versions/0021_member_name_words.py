"""The words of every member's name as rows (`member_name_word`), for the name search.

The GIN index of 0012 finds the members whose name has a word beginning with what was typed, but
only as heap addresses: at 2,000,000 members «رضا» is 50,000 of them, each a heap visit to learn its
id before any request could be looked up (1.1 s of the queue's search at 5M requests). The same words,
one row per (word, member), in a "C"-ordered primary key are a range scan that returns the ids from
the index alone. A trigger keeps the rows in step with the names; the words are those
`db.models.member_name_words` gives the index (tsvector_to_array of the same tsvector), so the
matching rules do not change.

The group view's index (0008) also carries `member_id` now, so a search in the queue can walk the
group in due order and test each request's member against those ids without visiting the heap.

Revision ID: 0021
Revises: 0020
"""
import sqlalchemy as sa
from alembic import op

from db import roles

revision = "0021"
down_revision = "0020"

NAME = "{t}first_name || ' ' || {t}last_name"


def _words(table: str = "") -> str:
    """The index expression of 0012 (db.models.member_name_words), written out as that migration did."""
    name = NAME.format(t=table)
    return f"to_tsvector('simple', replace({name}, chr(8204), ' ') || ' ' || replace({name}, chr(8204), ''))"


# The trigger runs as the owner (db.roles.DEFINER_FUNCTIONS): the app role only reads the words.
SYNC = f"""
CREATE FUNCTION member_name_word_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NEW.first_name = OLD.first_name AND NEW.last_name = OLD.last_name THEN
            RETURN NULL;
        END IF;
        DELETE FROM member_name_word WHERE member_id = OLD.id;
    END IF;
    INSERT INTO member_name_word (word, member_id)
    SELECT w, NEW.id FROM unnest(tsvector_to_array({_words('NEW.')})) AS w;
    RETURN NULL;
END $$"""
FILL = f"INSERT INTO member_name_word (word, member_id) SELECT unnest(tsvector_to_array({_words()})), id FROM member"


def _unclaimed_index(include: list[str]) -> None:
    op.drop_index("ix_request_unclaimed", table_name="request")
    op.create_index("ix_request_unclaimed", "request", ["province_id", "stage_due_at", "id"], postgresql_include=include,
                    postgresql_where=sa.text("status = 'open' AND assignee_id IS NULL"))


def upgrade() -> None:
    op.create_table(
        "member_name_word",
        sa.Column("word", sa.Text(collation="C"), nullable=False),
        sa.Column("member_id", sa.BigInteger, sa.ForeignKey("member.id", ondelete="CASCADE"), nullable=False),
    )
    op.execute(FILL)  # before the keys: one sorted build each instead of millions of insertions
    op.create_primary_key("pk_member_name_word", "member_name_word", ["word", "member_id"])
    op.create_index("ix_member_name_word_member_id", "member_name_word", ["member_id", "word"])
    op.execute(SYNC)
    op.execute("CREATE TRIGGER member_name_word_sync AFTER INSERT OR UPDATE OF first_name, last_name ON member "
               "FOR EACH ROW EXECUTE FUNCTION member_name_word_sync()")
    _unclaimed_index(["type_code", "stage_code", "initial_reviewer_id", "stage_risk_at", "member_id"])
    roles.apply(op.get_bind())  # read-only for the app; the trigger function runs as the owner


def downgrade() -> None:
    op.execute("DROP TRIGGER member_name_word_sync ON member")
    op.execute("DROP FUNCTION member_name_word_sync()")
    op.drop_table("member_name_word")
    _unclaimed_index(["type_code", "stage_code", "initial_reviewer_id", "stage_risk_at"])
