"""webhooks: apps' webhooks, and each event's delivery to each of them

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'webhooks',
        sa.Column('id', sa.Uuid(), primary_key=True),
        sa.Column('app_id', sa.Uuid(), sa.ForeignKey('apps.id', ondelete='CASCADE'), nullable=False, index=True),
        sa.Column('include', postgresql.JSONB(), nullable=False),
        sa.Column('level', sa.String(10), nullable=False),
        sa.Column('url', sa.String(2000), nullable=False),
        sa.Column('secrets', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )
    op.create_table(
        'webhook_deliveries',
        sa.Column('id', sa.Uuid(), primary_key=True),
        sa.Column('webhook_id', sa.Uuid(), sa.ForeignKey('webhooks.id', ondelete='CASCADE'), nullable=False, index=True),
        sa.Column('app_id', sa.Uuid(), nullable=False, index=True),
        sa.Column('event_seq', sa.BigInteger(), sa.ForeignKey('events.seq', ondelete='CASCADE'), nullable=False),
        sa.Column('status', sa.String(10), nullable=False),
        sa.Column('num_attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True)),
        sa.Column('last_code', sa.Integer()),
        sa.Column('last_error', sa.String(60)),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )
    op.create_index('ix_webhook_deliveries_due', 'webhook_deliveries', ['next_attempt_at'],
                    postgresql_where=sa.text("status IN ('pending', 'retrying')"))


def downgrade() -> None:
    op.drop_table('webhook_deliveries')
    op.drop_table('webhooks')
