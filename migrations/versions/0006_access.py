"""users: admins and disabled ones; collaborators, teams and their members; apps owned by a team; the audit log

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('users', sa.Column('is_admin', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('users', sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True))
    # The platform's first user (made by `make up`) is its admin.
    op.execute("UPDATE users SET is_admin = true WHERE email = 'admin@paas.localhost'")
    op.create_table(
        'teams',
        sa.Column('id', sa.Uuid(), primary_key=True),
        sa.Column('name', sa.String(length=30), nullable=False, unique=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )
    op.create_table(
        'team_members',
        sa.Column('id', sa.Uuid(), primary_key=True),
        sa.Column('team_id', sa.Uuid(), sa.ForeignKey('teams.id', ondelete='CASCADE'), nullable=False, index=True),
        sa.Column('user_id', sa.Uuid(), sa.ForeignKey('users.id', ondelete='CASCADE'), nullable=False, index=True),
        sa.Column('role', sa.String(length=20), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint('team_id', 'user_id'),
    )
    op.add_column('apps', sa.Column('team_id', sa.Uuid(), sa.ForeignKey('teams.id', ondelete='RESTRICT'), nullable=True))
    op.create_table(
        'collaborators',
        sa.Column('id', sa.Uuid(), primary_key=True),
        sa.Column('app_id', sa.Uuid(), sa.ForeignKey('apps.id', ondelete='CASCADE'), nullable=False, index=True),
        sa.Column('user_id', sa.Uuid(), sa.ForeignKey('users.id', ondelete='CASCADE'), nullable=False, index=True),
        sa.Column('permissions', postgresql.JSONB(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint('app_id', 'user_id'),
    )
    op.create_table(
        'audit_events',
        sa.Column('id', sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False, index=True),
        sa.Column('actor', sa.String(length=254), nullable=False),
        sa.Column('action', sa.String(length=200), nullable=False),
        sa.Column('app', sa.String(length=30), nullable=True),
    )


def downgrade() -> None:
    op.drop_table('audit_events')
    op.drop_table('collaborators')
    op.drop_column('apps', 'team_id')
    op.drop_table('team_members')
    op.drop_table('teams')
    op.drop_column('users', 'disabled_at')
    op.drop_column('users', 'is_admin')
