"""apps: a health check path of their own

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('apps', sa.Column('health_check_path', sa.String(length=200), nullable=True))


def downgrade() -> None:
    op.drop_column('apps', 'health_check_path')
