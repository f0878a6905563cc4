"""apps: maintenance mode

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08
"""
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('apps', sa.Column('maintenance', sa.Boolean(), server_default=sa.text('false'), nullable=False))


def downgrade() -> None:
    op.drop_column('apps', 'maintenance')
