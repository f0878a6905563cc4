"""app setups (an app from a tarball and its app.json); scheduled jobs declared in app.json

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-08
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('scheduled_jobs', sa.Column('declared_in', sa.String(length=10), server_default='api', nullable=False))
    op.create_table(
        'app_setups',
        sa.Column('id', sa.Uuid(), primary_key=True),
        sa.Column('app_id', sa.Uuid(), sa.ForeignKey('apps.id', ondelete='SET NULL'), nullable=True),
        sa.Column('app_name', sa.String(length=30), nullable=False),
        sa.Column('user_id', sa.Uuid(), sa.ForeignKey('users.id', ondelete='CASCADE'), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('phase', sa.String(length=15), nullable=False),
        sa.Column('source_url', sa.String(length=2000), nullable=False),
        sa.Column('source_version', sa.String(length=40), nullable=False),
        sa.Column('environment', sa.String(length=10), nullable=True),
        sa.Column('overrides', sa.LargeBinary(), nullable=False),
        sa.Column('manifest', JSONB(), nullable=True),
        sa.Column('addon_count', sa.Integer(), nullable=False),
        sa.Column('build_id', sa.Uuid(), sa.ForeignKey('builds.id', ondelete='SET NULL'), nullable=True),
        sa.Column('failure_message', sa.Text(), nullable=True),
        sa.Column('manifest_errors', JSONB(), nullable=False),
        sa.Column('postdeploy_exit_code', sa.Integer(), nullable=True),
        sa.Column('postdeploy_output', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    )
    op.create_index('ix_app_setups_app_id', 'app_setups', ['app_id'])


def downgrade() -> None:
    op.drop_table('app_setups')
    op.drop_column('scheduled_jobs', 'declared_in')
