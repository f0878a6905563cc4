"""add-ons, their attachments to apps, and links between apps

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'addons',
        sa.Column('id', sa.Uuid(), primary_key=True),
        sa.Column('name', sa.String(length=60), nullable=False, unique=True),
        sa.Column('service', sa.String(length=30), nullable=False),
        sa.Column('plan', sa.String(length=30), nullable=False),
        sa.Column('app_id', sa.Uuid(), sa.ForeignKey('apps.id', ondelete='CASCADE'), nullable=False, index=True),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('credentials', sa.LargeBinary(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )
    op.create_table(
        'addon_attachments',
        sa.Column('id', sa.Uuid(), primary_key=True),
        sa.Column('addon_id', sa.Uuid(), sa.ForeignKey('addons.id', ondelete='CASCADE'), nullable=False, index=True),
        sa.Column('app_id', sa.Uuid(), sa.ForeignKey('apps.id', ondelete='CASCADE'), nullable=False, index=True),
        sa.Column('name', sa.String(length=60), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint('app_id', 'name'),
    )
    op.create_table(
        'app_links',
        sa.Column('id', sa.Uuid(), primary_key=True),
        sa.Column('app_id', sa.Uuid(), sa.ForeignKey('apps.id', ondelete='CASCADE'), nullable=False, index=True),
        sa.Column('target_id', sa.Uuid(), sa.ForeignKey('apps.id', ondelete='CASCADE'), nullable=False, index=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint('app_id', 'target_id'),
    )
    op.add_column('releases', sa.Column('addon_keys', postgresql.JSONB(), server_default=sa.text("'[]'"), nullable=False))


def downgrade() -> None:
    op.drop_column('releases', 'addon_keys')
    op.drop_table('app_links')
    op.drop_table('addon_attachments')
    op.drop_table('addons')
