from typing import Any, Optional

from ..serialization import MessageField as MessageField
from ..serialization import SerializationContext as SerializationContext
from ..serialization import SerializationError as SerializationError
from .error import SchemaRegistryError as SchemaRegistryError
from .error import SchemaRegistryUnreachableError as SchemaRegistryUnreachableError
from .schema_registry_client import RegisteredSchema as RegisteredSchema
from .schema_registry_client import Schema as Schema
from .schema_registry_client import SchemaReference as SchemaReference
from .schema_registry_client import SchemaRegistryClient as SchemaRegistryClient

def topic_subject_name_strategy(ctx: Optional[SerializationContext], record_name: Optional[str]) -> str: ...
def topic_record_subject_name_strategy(ctx: Optional[SerializationContext], record_name: Optional[str]) -> Optional[str]: ...
def record_subject_name_strategy(ctx: Optional[SerializationContext], record_name: Optional[str]) -> Optional[str]: ...
def prefix_schema_id_serializer(payload: bytes, ctx: Optional[SerializationContext], schema_id: Any) -> bytes: ...
def dual_schema_id_deserializer(payload: bytes, ctx: Optional[SerializationContext], schema_id: Any) -> Any: ...
