"""pipelines, their couplings and promotions

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08
"""
import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def timestamps() -> list[sa.Column]:
    return [sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
            sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False)]


def upgrade() -> None:
    op.create_table(
        'pipelines',
        sa.Column('id', sa.Uuid(), primary_key=True),
        sa.Column('name', sa.String(length=30), nullable=False),
        sa.Column('owner_id', sa.Uuid(), sa.ForeignKey('users.id', ondelete='CASCADE'), nullable=True),
        sa.Column('team_id', sa.Uuid(), sa.ForeignKey('teams.id', ondelete='CASCADE'), nullable=True),
        *timestamps(),
    )
    op.create_index('ix_pipelines_name', 'pipelines', ['name'])
    op.create_table(
        'pipeline_couplings',
        sa.Column('id', sa.Uuid(), primary_key=True),
        sa.Column('pipeline_id', sa.Uuid(), sa.ForeignKey('pipelines.id', ondelete='CASCADE'), nullable=False),
        sa.Column('app_id', sa.Uuid(), sa.ForeignKey('apps.id', ondelete='CASCADE'), nullable=False, unique=True),
        sa.Column('stage', sa.String(length=20), nullable=False),
        *timestamps(),
    )
    op.create_index('ix_pipeline_couplings_pipeline_id', 'pipeline_couplings', ['pipeline_id'])
    op.create_table(
        'pipeline_promotions',
        sa.Column('id', sa.Uuid(), primary_key=True),
        sa.Column('pipeline_id', sa.Uuid(), sa.ForeignKey('pipelines.id', ondelete='CASCADE'), nullable=False),
        sa.Column('source_app_id', sa.Uuid(), sa.ForeignKey('apps.id', ondelete='CASCADE'), nullable=False),
        sa.Column('source_release_id', sa.Uuid(), sa.ForeignKey('releases.id', ondelete='CASCADE'), nullable=False),
        sa.Column('user_id', sa.Uuid(), sa.ForeignKey('users.id', ondelete='CASCADE'), nullable=False),
        *timestamps(),
    )
    op.create_index('ix_pipeline_promotions_pipeline_id', 'pipeline_promotions', ['pipeline_id'])
    op.create_table(
        'promotion_targets',
        sa.Column('id', sa.Uuid(), primary_key=True),
        sa.Column('promotion_id', sa.Uuid(), sa.ForeignKey('pipeline_promotions.id', ondelete='CASCADE'), nullable=False),
        sa.Column('app_id', sa.Uuid(), sa.ForeignKey('apps.id', ondelete='CASCADE'), nullable=False),
        sa.Column('release_id', sa.Uuid(), sa.ForeignKey('releases.id', ondelete='CASCADE'), nullable=False),
        *timestamps(),
    )
    op.create_index('ix_promotion_targets_promotion_id', 'promotion_targets', ['promotion_id'])


def downgrade() -> None:
    for table in ('promotion_targets', 'pipeline_promotions', 'pipeline_couplings', 'pipelines'):
        op.drop_table(table)
