"""Citizens' own accounts: an address confirmed by a letter, a profile for their forms, the
notifications they choose, and the record of a withdrawn consent to personal data processing.

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KINDS_BEFORE = "('account.reset', 'account.invitation')"
_KINDS_AFTER = "('account.reset', 'account.invitation', 'account.confirmation', 'account.taken')"


def upgrade() -> None:
    # Staff and people a provider vouched for count as confirmed (the default); a citizen who
    # signs up with a password is not until the letter's link is opened.
    op.execute("ALTER TABLE users ADD COLUMN email_confirmed_at timestamptz DEFAULT now()")
    op.execute("GRANT INSERT (password_hash, email_confirmed_at) ON users TO priemnaya_app")
    op.execute("GRANT UPDATE (name, status, email_confirmed_at) ON users TO priemnaya_app")
    op.execute("ALTER TABLE account_links DROP CONSTRAINT account_links_purpose_check")
    op.execute(
        "ALTER TABLE account_links ADD CONSTRAINT account_links_purpose_check "
        "CHECK (purpose IN ('reset', 'invitation', 'confirmation'))"
    )
    op.execute("ALTER TABLE account_mail DROP CONSTRAINT account_mail_kind_check")
    op.execute(
        "ALTER TABLE account_mail ADD CONSTRAINT account_mail_kind_check "
        f"CHECK (kind IN {_KINDS_AFTER})"
    )
    op.execute("GRANT UPDATE (citizen_id) ON message_tracking TO priemnaya_app")
    op.execute(
        """
        CREATE TABLE citizen_profiles (
            user_id uuid PRIMARY KEY REFERENCES users (id),
            applicant_kind text NOT NULL DEFAULT 'individual'
                CHECK (applicant_kind IN ('individual', 'legal')),
            phone text,
            postal_address text,
            organization text,
            inn text CHECK (inn ~ '^[0-9]{10}([0-9]{2})?$'),
            ogrn text CHECK (ogrn ~ '^[0-9]{13}([0-9]{2})?$'),
            updated_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON citizen_profiles TO priemnaya_app")
    # By address, not by account: a person who wrote without an account unsubscribes too.
    op.execute(
        """
        CREATE TABLE notification_choices (
            address text NOT NULL CHECK (address = lower(address) AND address LIKE '%@%'),
            channel text NOT NULL CHECK (channel IN ('email')),
            choice text NOT NULL CHECK (choice IN ('every_stage', 'answers', 'none')),
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (address, channel)
        )
        """
    )
    op.execute("GRANT SELECT, INSERT, UPDATE ON notification_choices TO priemnaya_app")
    # Kept after the account closes: the proof that processing stopped when asked (152-ФЗ).
    op.execute(
        """
        CREATE TABLE consent_withdrawals (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            user_id uuid NOT NULL REFERENCES users (id),
            email text NOT NULL,
            withdrawn_at timestamptz NOT NULL DEFAULT now(),
            open_messages integer NOT NULL DEFAULT 0,
            ip text
        )
        """
    )
    op.execute("GRANT SELECT, INSERT ON consent_withdrawals TO priemnaya_app")
    op.execute("GRANT USAGE ON SEQUENCE consent_withdrawals_id_seq TO priemnaya_app")
    # Claiming a citizen's earlier messages looks them up by the applicant's address.
    op.execute(
        "CREATE INDEX messages_applicant_email ON messages (lower(applicant->>'email')) "
        "WHERE citizen_id IS NULL"
    )


def downgrade() -> None:
    op.execute("DROP INDEX messages_applicant_email")
    op.execute("DROP TABLE consent_withdrawals")
    op.execute("DROP TABLE notification_choices")
    op.execute("DROP TABLE citizen_profiles")
    op.execute("REVOKE UPDATE (citizen_id) ON message_tracking FROM priemnaya_app")
    op.execute("DELETE FROM account_mail WHERE kind IN ('account.confirmation', 'account.taken')")
    op.execute("ALTER TABLE account_mail DROP CONSTRAINT account_mail_kind_check")
    op.execute(
        "ALTER TABLE account_mail ADD CONSTRAINT account_mail_kind_check "
        f"CHECK (kind IN {_KINDS_BEFORE})"
    )
    op.execute("DELETE FROM account_links WHERE purpose = 'confirmation'")
    op.execute("ALTER TABLE account_links DROP CONSTRAINT account_links_purpose_check")
    op.execute(
        "ALTER TABLE account_links ADD CONSTRAINT account_links_purpose_check "
        "CHECK (purpose IN ('reset', 'invitation'))"
    )
    op.execute("REVOKE UPDATE (name, status, email_confirmed_at) ON users FROM priemnaya_app")
    op.execute("REVOKE INSERT (password_hash, email_confirmed_at) ON users FROM priemnaya_app")
    op.execute("ALTER TABLE users DROP COLUMN email_confirmed_at")
