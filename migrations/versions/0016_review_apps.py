"""review apps: a pipeline's settings for them, and each branch's app

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-08
"""
import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def timestamps() -> list[sa.Column]:
    return [sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
            sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False)]


def upgrade() -> None:
    op.create_table(
        'review_app_configs',
        sa.Column('pipeline_id', sa.Uuid(), sa.ForeignKey('pipelines.id', ondelete='CASCADE'), primary_key=True),
        sa.Column('automatic_review_apps', sa.Boolean(), nullable=False),
        sa.Column('destroy_stale_apps', sa.Boolean(), nullable=False),
        sa.Column('stale_days', sa.Integer(), nullable=False),
        sa.Column('wait_for_ci', sa.Boolean(), nullable=False),
        sa.Column('base_name', sa.String(length=20), nullable=True),
        sa.Column('repo', sa.String(length=200), nullable=True),
        *timestamps(),
    )
    op.create_table(
        'review_apps',
        sa.Column('id', sa.Uuid(), primary_key=True),
        sa.Column('pipeline_id', sa.Uuid(), sa.ForeignKey('pipelines.id', ondelete='CASCADE'), nullable=False),
        sa.Column('app_id', sa.Uuid(), sa.ForeignKey('apps.id', ondelete='SET NULL'), nullable=True),
        sa.Column('app_setup_id', sa.Uuid(), sa.ForeignKey('app_setups.id', ondelete='SET NULL'), nullable=True),
        sa.Column('branch', sa.String(length=255), nullable=False),
        sa.Column('pr_number', sa.Integer(), nullable=True),
        sa.Column('status', sa.String(length=15), nullable=False),
        sa.Column('message', sa.Text(), nullable=True),
        sa.Column('user_id', sa.Uuid(), sa.ForeignKey('users.id', ondelete='CASCADE'), nullable=False),
        *timestamps(),
        sa.UniqueConstraint('pipeline_id', 'branch'),
    )
    op.create_index('ix_review_apps_pipeline_id', 'review_apps', ['pipeline_id'])
    op.create_index('ix_review_apps_app_id', 'review_apps', ['app_id'])
    op.alter_column('app_setups', 'source_url', nullable=True)  # a review app's setup builds a pushed commit


def downgrade() -> None:
    op.alter_column('app_setups', 'source_url', nullable=False)
    op.drop_table('review_apps')
    op.drop_table('review_app_configs')
