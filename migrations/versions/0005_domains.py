"""custom domains of apps, with their certificates' state; apps that answer HTTP with a redirect to HTTPS

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'domains',
        sa.Column('id', sa.Uuid(), primary_key=True),
        sa.Column('app_id', sa.Uuid(), sa.ForeignKey('apps.id', ondelete='CASCADE'), nullable=False, index=True),
        sa.Column('hostname', sa.String(length=253), nullable=False, unique=True),
        sa.Column('acm_status', sa.String(length=30), nullable=True),
        sa.Column('acm_status_reason', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )
    op.add_column('apps', sa.Column('force_https', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    op.drop_column('apps', 'force_https')
    op.drop_table('domains')
