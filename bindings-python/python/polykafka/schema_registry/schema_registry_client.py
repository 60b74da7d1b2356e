"""``SchemaRegistryClient`` and its model classes, as confluent-kafka's (over the core's client:
HTTP, retries and caches are in Rust)."""

from .. import _native
from ._common import call, text

__all__ = ["RegisteredSchema", "Schema", "SchemaReference", "SchemaRegistryClient"]


class SchemaReference(object):
    """A reference from a schema to ``version`` of ``subject``, under ``name``."""

    def __init__(self, name, subject, version):
        self.name = name
        self.subject = subject
        self.version = version

    def __eq__(self, other):
        return isinstance(other, SchemaReference) and \
            (self.name, self.subject, self.version) == (other.name, other.subject, other.version)

    def __hash__(self):
        return hash((self.name, self.subject, self.version))

    def __repr__(self):
        return "SchemaReference(name=%r, subject=%r, version=%r)" % (self.name, self.subject, self.version)


class Schema(object):
    """A schema: ``schema_str``, ``schema_type`` (AVRO, JSON, PROTOBUF) and ``references``."""

    def __init__(self, schema_str, schema_type="AVRO", references=None, metadata=None, rule_set=None):
        if metadata is not None or rule_set is not None:
            raise ValueError("schema metadata and rule sets are not supported by polykafka")
        self.schema_str = schema_str
        self.schema_type = schema_type
        self.references = list(references or [])
        self.metadata = None
        self.rule_set = None

    def __eq__(self, other):
        return isinstance(other, Schema) and (self.schema_str, self.schema_type, self.references) == \
            (other.schema_str, other.schema_type, other.references)

    def __hash__(self):
        return hash((self.schema_str, self.schema_type))

    def __repr__(self):
        return "Schema(schema_str=%r, schema_type=%r, references=%r)" % (self.schema_str, self.schema_type, self.references)


class RegisteredSchema(object):
    """A schema registered under ``subject`` as ``version`` with id ``schema_id``."""

    def __init__(self, schema_id, schema, subject, version, guid=None):
        self.schema_id = schema_id
        self.guid = guid
        self.schema = schema
        self.subject = subject
        self.version = version

    def __eq__(self, other):
        return isinstance(other, RegisteredSchema) and \
            (self.schema_id, self.schema, self.subject, self.version) == \
            (other.schema_id, other.schema, other.subject, other.version)

    def __hash__(self):
        return hash((self.schema_id, self.subject, self.version))

    def __repr__(self):
        return "RegisteredSchema(schema_id=%r, subject=%r, version=%r)" % (self.schema_id, self.subject, self.version)


def _schema(t):
    schema_str, schema_type, refs = t
    return Schema(schema_str, schema_type, [SchemaReference(*r) for r in refs])


def _registered(t):
    schema_id, subject, version, schema = t
    return RegisteredSchema(schema_id, _schema(schema), subject, version)


def _args(schema):
    return (schema.schema_str, schema.schema_type or "AVRO",
            [(r.name, r.subject, r.version) for r in (schema.references or [])])


class SchemaRegistryClient(object):
    """confluent-kafka's client. ``conf`` keys: ``url`` (comma-separated for several),
    ``basic.auth.user.info``, ``basic.auth.credentials.source``, ``bearer.auth.credentials.source``
    (STATIC_TOKEN), ``bearer.auth.token``, ``ssl.ca.location``, ``ssl.certificate.location``,
    ``ssl.key.location``, ``timeout`` (seconds), ``max.retries``, ``retries.wait.ms``,
    ``retries.max.wait.ms``, ``cache.capacity``, ``cache.latest.ttl.sec``."""

    def __init__(self, conf):
        if not isinstance(conf, dict):
            raise TypeError("conf must be a dict")
        self._conf = dict(conf)
        self._native = call(_native.SchemaRegistryClient, {k: text(v) for k, v in conf.items() if v is not None})

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        pass

    def config(self):
        return dict(self._conf)

    def register_schema(self, subject_name, schema, normalize_schemas=False):
        return call(self._native.register_schema, subject_name, *_args(schema), bool(normalize_schemas))

    def register_schema_full_response(self, subject_name, schema, normalize_schemas=False):
        schema_id = self.register_schema(subject_name, schema, normalize_schemas)
        return RegisteredSchema(schema_id, schema, subject_name, None)

    def get_schema(self, schema_id, subject_name=None, fmt=None, reference_format=None):
        return _schema(call(self._native.get_schema, int(schema_id)))

    def lookup_schema(self, subject_name, schema, normalize_schemas=False, fmt=None, deleted=False):
        return _registered(call(self._native.lookup_schema, subject_name, *_args(schema), bool(normalize_schemas)))

    def get_subjects(self, subject_prefix=None, deleted=False, deleted_only=False):
        subjects = call(self._native.get_subjects)
        if subject_prefix:
            subjects = [s for s in subjects if s.startswith(subject_prefix)]
        return subjects

    def delete_subject(self, subject_name, permanent=False):
        return call(self._native.delete_subject, subject_name, bool(permanent))

    def get_latest_version(self, subject_name, fmt=None):
        return _registered(call(self._native.get_latest_version, subject_name))

    def get_version(self, subject_name, version="latest", deleted=False, fmt=None):
        if version == "latest":
            return self.get_latest_version(subject_name)
        return _registered(call(self._native.get_version, subject_name, int(version)))

    def get_versions(self, subject_name):
        return call(self._native.get_versions, subject_name)

    def delete_version(self, subject_name, version, permanent=False):
        return call(self._native.delete_version, subject_name, int(version), bool(permanent))

    def set_compatibility(self, subject_name=None, level=None):
        if level is None:
            raise ValueError("level must be set")
        return {"compatibility": call(self._native.set_compatibility, level, subject_name)}

    def get_compatibility(self, subject_name=None):
        return call(self._native.get_compatibility, subject_name)

    def test_compatibility(self, subject_name, schema, version="latest", normalize=False):
        v = None if version == "latest" else int(version)
        return call(self._native.test_compatibility, subject_name, *_args(schema), v)
