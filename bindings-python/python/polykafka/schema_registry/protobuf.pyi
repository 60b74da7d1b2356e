from typing import Any, Dict, Optional, Union

from ..serialization import Deserializer, SerializationContext, Serializer
from .schema_registry_client import Schema, SchemaReference, SchemaRegistryClient

def reference_subject_name_strategy(ctx: Optional[SerializationContext], schema_ref: Any) -> Optional[str]: ...

class ProtobufSerializer(Serializer):
    def __init__(self, msg_type: Union[type, Schema], schema_registry_client: SchemaRegistryClient,
                 conf: Optional[Dict[str, Any]] = None, rule_conf: Any = None, rule_registry: Any = None,
                 message_name: Optional[str] = None) -> None: ...
    def __call__(self, message: Any, ctx: Optional[SerializationContext] = None) -> Optional[bytes]: ...

class ProtobufDeserializer(Deserializer):
    def __init__(self, message_type: Optional[type], conf: Optional[Dict[str, Any]] = None,
                 schema_registry_client: Optional[SchemaRegistryClient] = None, rule_conf: Any = None,
                 rule_registry: Any = None) -> None: ...
    def __call__(self, data: Optional[bytes], ctx: Optional[SerializationContext] = None) -> Any: ...
