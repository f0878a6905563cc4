"""buildpack builds: stacks, buildpack installations, build records, slugs

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('apps', sa.Column('build_stack', sa.String(length=30), nullable=True))
    op.add_column('apps', sa.Column('buildpacks', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False))
    op.add_column('apps', sa.Column('build_cache_generation', sa.Integer(), server_default=sa.text('1'), nullable=False))
    op.add_column('builds', sa.Column('source_url', sa.String(length=2000), nullable=True))
    op.add_column('builds', sa.Column('stack', sa.String(length=30), nullable=True))
    op.add_column('builds', sa.Column('buildpacks', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False))
    op.add_column('builds', sa.Column('slug_key', sa.String(length=300), nullable=True))
    op.add_column('builds', sa.Column('slug_size', sa.BigInteger(), nullable=True))
    op.add_column('builds', sa.Column('output', sa.Text(), nullable=True))
    op.add_column('builds', sa.Column('worker', sa.String(length=200), nullable=True))
    op.add_column('builds', sa.Column('started_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('builds', sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('releases', sa.Column('build_id', sa.Uuid(), nullable=True))
    op.add_column('releases', sa.Column('stack', sa.String(length=30), nullable=True))
    op.add_column('releases', sa.Column('slug_size', sa.BigInteger(), nullable=True))
    op.create_foreign_key('releases_build_id_fkey', 'releases', 'builds', ['build_id'], ['id'], ondelete='SET NULL')
    op.create_index('builds_pending_created', 'builds', ['created_at'], postgresql_where=sa.text("status = 'pending'"))


def downgrade() -> None:
    op.drop_index('builds_pending_created', table_name='builds')
    op.drop_constraint('releases_build_id_fkey', 'releases', type_='foreignkey')
    for column in ('slug_size', 'stack', 'build_id'):
        op.drop_column('releases', column)
    for column in ('finished_at', 'started_at', 'worker', 'output', 'slug_size', 'slug_key', 'buildpacks', 'stack', 'source_url'):
        op.drop_column('builds', column)
    op.drop_column('apps', 'build_cache_generation')
    op.drop_column('apps', 'buildpacks')
    op.drop_column('apps', 'build_stack')
