"""A JSON Schema, as tools' `parameters` (`input_schema`) and structured outputs carry one: its
structural keywords must have the types the JSON Schema specification gives them, so that the
translators that rewrite schemas for other providers (Gemini's OpenAPI subset) can walk it. Other
keywords, and the values of annotations, are the upstream's to judge.

Recursive: a schema's subschemas are schemas (or booleans, which JSON Schema allows anywhere a
subschema stands); the body's depth bound (nodes.MAX_DEPTH) ends the recursion."""

from alltoken.http.v1.schemas.nodes import ANY, Arr, Bool, Either, Int, Num, Obj, Str

JSON_SCHEMA = Obj(what="a JSON Schema object")
SUBSCHEMA = Either(JSON_SCHEMA, Bool(), what="a JSON Schema (an object or a boolean)")
_SCHEMA_MAP = Obj(others=SUBSCHEMA, what="an object of JSON Schemas")
_SCHEMA_LIST = Arr(SUBSCHEMA, what="an array of JSON Schemas")
_COUNT = Int(0)

JSON_SCHEMA.fields.update({
    "type": Either(Str(), Arr(Str()), what="a type name or an array of type names"),
    "properties": _SCHEMA_MAP, "patternProperties": _SCHEMA_MAP, "$defs": _SCHEMA_MAP, "definitions": _SCHEMA_MAP,
    "items": Either(JSON_SCHEMA, Bool(), _SCHEMA_LIST, what="a JSON Schema or an array of JSON Schemas"),
    "prefixItems": _SCHEMA_LIST, "anyOf": _SCHEMA_LIST, "oneOf": _SCHEMA_LIST, "allOf": _SCHEMA_LIST,
    "additionalProperties": SUBSCHEMA, "not": SUBSCHEMA, "if": SUBSCHEMA, "then": SUBSCHEMA, "else": SUBSCHEMA,
    "required": Arr(Str(), what="an array of property names"),
    "enum": Arr(ANY),
    "$ref": Str(), "format": Str(), "pattern": Str(), "title": Str(), "description": Str(),
    "nullable": Bool(),
    "minimum": Num(), "maximum": Num(), "exclusiveMinimum": Either(Num(), Bool()),
    "exclusiveMaximum": Either(Num(), Bool()), "multipleOf": Num(),
    "minLength": _COUNT, "maxLength": _COUNT, "minItems": _COUNT, "maxItems": _COUNT, "minProperties": _COUNT,
    "maxProperties": _COUNT, "uniqueItems": Bool(),
})
