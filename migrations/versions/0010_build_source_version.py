"""builds: `commit` is the source's version (a tarball build's is not a commit): source_version

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.alter_column('builds', 'commit', new_column_name='source_version')


def downgrade() -> None:
    op.alter_column('builds', 'source_version', new_column_name='commit')
