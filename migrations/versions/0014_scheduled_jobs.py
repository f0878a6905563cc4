"""scheduled jobs and their runs

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08
"""
import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'scheduled_jobs',
        sa.Column('id', sa.Uuid(), primary_key=True),
        sa.Column('app_id', sa.Uuid(), sa.ForeignKey('apps.id', ondelete='CASCADE'), nullable=False),
        sa.Column('command', sa.Text(), nullable=False),
        sa.Column('schedule', sa.String(length=100), nullable=False),
        sa.Column('size', sa.String(length=30), nullable=False),
        sa.Column('concurrency_policy', sa.String(length=10), nullable=False),
        sa.Column('scheduled_since', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    )
    op.create_index('ix_scheduled_jobs_app_id', 'scheduled_jobs', ['app_id'])
    op.create_table(
        'scheduled_runs',
        sa.Column('id', sa.Uuid(), primary_key=True),
        sa.Column('job_id', sa.Uuid(), sa.ForeignKey('scheduled_jobs.id', ondelete='CASCADE'), nullable=False),
        sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('release_version', sa.Integer(), nullable=True),
        sa.Column('started_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('exit_code', sa.Integer(), nullable=True),
        sa.Column('message', sa.String(length=200), nullable=True),
        sa.UniqueConstraint('job_id', 'due_at'),
    )
    op.create_index('ix_scheduled_runs_job_id', 'scheduled_runs', ['job_id'])


def downgrade() -> None:
    op.drop_table('scheduled_runs')
    op.drop_table('scheduled_jobs')
