"""events: every change to an app, recorded with it, delivered after commit by one publisher

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'events',
        sa.Column('seq', sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column('id', sa.Uuid(), nullable=False, unique=True),
        sa.Column('app_id', sa.Uuid(), nullable=False),
        sa.Column('app_name', sa.String(30), nullable=False),
        sa.Column('resource', sa.String(40), nullable=False),
        sa.Column('action', sa.String(20), nullable=False),
        sa.Column('actor', postgresql.JSONB()),
        sa.Column('data', postgresql.JSONB(), nullable=False),
        sa.Column('previous_data', postgresql.JSONB(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column('position', sa.BigInteger(), unique=True),
        sa.Column('published_at', sa.DateTime(timezone=True)),
    )
    op.create_index('ix_events_unpublished', 'events', ['seq'], postgresql_where=sa.text('position IS NULL'))
    op.create_index('ix_events_app_position', 'events', ['app_id', 'position'])
    op.execute("CREATE SEQUENCE event_positions")


def downgrade() -> None:
    op.execute("DROP SEQUENCE event_positions")
    op.drop_table('events')
