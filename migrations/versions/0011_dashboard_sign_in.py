"""the dashboard's sign-in: users' password hashes, web sessions, one-time password links

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('users', sa.Column('password_hash', sa.String(200), nullable=True))
    for table in ('web_sessions', 'password_links'):
        columns = [
            sa.Column('token_hash', sa.String(64), primary_key=True),
            sa.Column('user_id', sa.Uuid(), sa.ForeignKey('users.id', ondelete='CASCADE'), nullable=False, index=True),
            sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        ]
        if table == 'web_sessions':
            columns.append(sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False))
        op.create_table(table, *columns)


def downgrade() -> None:
    op.drop_table('password_links')
    op.drop_table('web_sessions')
    op.drop_column('users', 'password_hash')
