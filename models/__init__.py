"""All models, imported here so that `Base.metadata` knows every table (Alembic needs it)."""

from models.base import Base
from models.districts import District
from models.fsm import FsmRecord
from models.users import Role, User, UserRole

__all__ = ["Base", "District", "FsmRecord", "Role", "User", "UserRole"]
