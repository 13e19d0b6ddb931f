"""A small declarative language for request bodies, and the one validator that checks them.

Each data-plane endpoint describes its body once (the other modules of this package), following the
published schema of the API it is compatible with. `validate` walks a body against that description
before any routing or translation, so no translator or provider module ever sees a wrong type; the
first problem raises SchemaError, which names the field's path (`messages[2].content[0].text`) and
what it must be.

Keys a description does not name are not errors: they go upstream as sent, as they always have. The
body's nesting is bounded (MAX_DEPTH), because whatever the gateway forwards is serialized again and
orjson encodes at most 254 levels (the parser takes 1,024).

The nodes are plain data, so the data-plane fuzz test builds its generators from the same ones.
Cost: 3 to 7 microseconds for a two-message chat body (docs/api.md).
"""

from collections.abc import Iterable

MAX_DEPTH = 64          # levels of objects and arrays in one body; JSON schemas of real tools use ~10


class SchemaError(Exception):
    """A body that does not fit its schema. `path` is filled in while the error unwinds (innermost
    segment first), so a valid body pays nothing for it."""

    def __init__(self, problem: str):
        super().__init__(problem)
        self.problem = problem
        self.path: list[str | int] = []

    @property
    def param(self) -> str | None:
        """The field's path as the error's `param`: `messages[2].content[0].text`."""
        text = ""
        for segment in reversed(self.path):
            text += f"[{segment}]" if isinstance(segment, int) else (f".{segment}" if text else segment)
        return text or None

    @property
    def message(self) -> str:
        return f"'{self.param}' {self.problem}" if self.param else f"the request body {self.problem}"


def _at(exc: SchemaError, segment: str | int) -> SchemaError:
    exc.path.append(segment)
    return exc


class Node:
    """What one value must be. `types` are the Python types of its JSON kind (orjson makes exactly
    these), which is how Either picks the alternative that applies."""

    types: tuple[type, ...] = ()
    __slots__ = ("what", "nullable")

    def __init__(self, what: str, nullable: bool = False):
        self.what = what
        self.nullable = nullable

    def check(self, value) -> None:
        raise NotImplementedError

    def refuse(self, value) -> None:
        if value is None and self.nullable:
            return
        raise SchemaError(f"must be {self.what}")


class Anything(Node):
    """Any JSON value (a tool's arguments, a JSON schema's `default`)."""

    types = (str, int, float, bool, list, dict, type(None))
    __slots__ = ()

    def __init__(self, what: str = "any JSON value"):
        super().__init__(what, nullable=True)

    def check(self, value) -> None:
        pass


class Str(Node):
    types = (str,)
    __slots__ = ("enum", "min_length", "max_length")

    def __init__(self, what: str | None = None, *, enum: Iterable[str] | None = None, min_length: int = 0,
                 max_length: int | None = None, nullable: bool = False):
        self.enum = frozenset(enum) if enum is not None else None
        self.min_length, self.max_length = min_length, max_length
        super().__init__(what or _string_what(self.enum, min_length, max_length), nullable)

    def check(self, value) -> None:
        if type(value) is not str:
            return self.refuse(value)
        if self.enum is not None and value not in self.enum:
            raise SchemaError(f"must be {self.what}")
        if len(value) < self.min_length or (self.max_length is not None and len(value) > self.max_length):
            raise SchemaError(f"must be {self.what}")


class Int(Node):
    types = (int,)
    __slots__ = ("minimum", "maximum")

    def __init__(self, minimum: int | None = None, maximum: int | None = None, *, nullable: bool = False):
        self.minimum, self.maximum = minimum, maximum
        super().__init__(_number_what("an integer", minimum, maximum), nullable)

    def check(self, value) -> None:
        if type(value) is not int:      # bool is not int here: type(True) is bool
            return self.refuse(value)
        if (self.minimum is not None and value < self.minimum) or (self.maximum is not None and value > self.maximum):
            raise SchemaError(f"must be {self.what}")


class Num(Node):
    types = (int, float)
    __slots__ = ("minimum", "maximum")

    def __init__(self, minimum: float | None = None, maximum: float | None = None, *, nullable: bool = False):
        self.minimum, self.maximum = minimum, maximum
        super().__init__(_number_what("a number", minimum, maximum), nullable)

    def check(self, value) -> None:
        if type(value) is not int and type(value) is not float:
            return self.refuse(value)
        if (self.minimum is not None and value < self.minimum) or (self.maximum is not None and value > self.maximum):
            raise SchemaError(f"must be {self.what}")


class Bool(Node):
    types = (bool,)
    __slots__ = ()

    def __init__(self, *, nullable: bool = False):
        super().__init__("a boolean", nullable)

    def check(self, value) -> None:
        if type(value) is not bool:
            self.refuse(value)


ANY = Anything()


class Obj(Node):
    """An object with known `fields` (optional unless `required`; an optional field may be null) and,
    for any other key, `others` (by default anything: unknown keys pass through)."""

    types = (dict,)
    __slots__ = ("fields", "required", "others")

    def __init__(self, fields: dict[str, Node] | None = None, *, required: Iterable[str] = (), others: Node = ANY,
                 what: str = "an object", nullable: bool = False):
        self.fields = dict(fields or {})
        self.required = tuple(required)
        self.others = others
        super().__init__(what, nullable)

    def check(self, value) -> None:
        if type(value) is not dict:
            return self.refuse(value)
        for name in self.required:
            if name not in value:
                raise _at(SchemaError("is required"), name)
        fields = self.fields
        for key, item in value.items():
            node = fields.get(key)
            if node is None:
                node = self.others
            elif item is None and key not in self.required:
                continue
            try:
                node.check(item)
            except SchemaError as exc:
                raise _at(exc, key) from None


class Arr(Node):
    types = (list,)
    __slots__ = ("items", "min_items", "max_items")

    def __init__(self, items: Node, *, min_items: int = 0, max_items: int | None = None, what: str | None = None,
                 nullable: bool = False):
        self.items, self.min_items, self.max_items = items, min_items, max_items
        super().__init__(what or _array_what(min_items, max_items), nullable)

    def check(self, value) -> None:
        if type(value) is not list:
            return self.refuse(value)
        if len(value) < self.min_items or (self.max_items is not None and len(value) > self.max_items):
            raise SchemaError(f"must be {self.what}")
        check = self.items.check
        for index, item in enumerate(value):
            try:
                check(item)
            except SchemaError as exc:
                raise _at(exc, index) from None


class Either(Node):
    """One of several kinds of JSON value (a string or an array of parts): the first alternative
    whose kind the value has decides."""

    __slots__ = ("options", "types")

    def __init__(self, *options: Node, what: str | None = None, nullable: bool = False):
        self.options = options
        self.types = tuple(t for option in options for t in option.types)
        super().__init__(what or " or ".join(option.what for option in options), nullable)

    def check(self, value) -> None:
        kind = type(value)
        for option in self.options:
            if kind in option.types:
                return option.check(value)
        self.refuse(value)


class Tagged(Node):
    """An object whose kind is named by one field (`type`, `role`): each known kind has its own Obj;
    an unknown kind is checked by `others` (None: refused). `default` is the kind of an object
    without the field, when the API has one."""

    types = (dict,)
    __slots__ = ("tag", "kinds", "others", "default")

    def __init__(self, tag: str, kinds: dict[str, Obj], *, others: Obj | None = None, default: str | None = None,
                 what: str | None = None, nullable: bool = False):
        self.tag, self.kinds, self.others, self.default = tag, kinds, others, default
        super().__init__(what or f"an object with a '{tag}'", nullable)

    def check(self, value) -> None:
        if type(value) is not dict:
            return self.refuse(value)
        kind = value.get(self.tag, self.default)
        if kind is None:
            raise _at(SchemaError("is required"), self.tag)
        node = self.kinds.get(kind) if type(kind) is str else None
        if node is None:
            if self.others is None or type(kind) is not str:
                raise _at(SchemaError(f"must be {self.kinds_text()}"), self.tag)
            node = self.others
        node.check(value)

    def kinds_text(self) -> str:
        listed = ", ".join(f"'{kind}'" for kind in self.kinds)
        return f"one of {listed}" if self.others is None else f"a string such as {listed}"


def validate(node: Node, body: dict) -> None:
    """Raise SchemaError unless `body` fits `node` (and nests at most MAX_DEPTH levels)."""
    _check_depth(body, MAX_DEPTH)
    node.check(body)


def _check_depth(value, budget: int) -> None:
    if budget == 0:
        raise SchemaError(f"nests objects and arrays more than {MAX_DEPTH} levels deep")
    for item in value.values() if type(value) is dict else value:
        if type(item) is dict or type(item) is list:
            _check_depth(item, budget - 1)


def _string_what(enum: frozenset[str] | None, min_length: int, max_length: int | None) -> str:
    if enum is not None:
        return "one of " + ", ".join(f"'{value}'" for value in sorted(enum))
    if max_length is not None:
        return f"a string of {min_length} to {max_length} characters"
    return "a non-empty string" if min_length == 1 else "a string"


def _number_what(kind: str, minimum, maximum) -> str:
    if minimum is not None and maximum is not None:
        return f"{kind} from {minimum} to {maximum}"
    if minimum is not None:
        return f"{kind} of at least {minimum}"
    if maximum is not None:
        return f"{kind} of at most {maximum}"
    return kind


def _array_what(min_items: int, max_items: int | None) -> str:
    if max_items is not None:
        return f"an array of {min_items} to {max_items} items"
    return "a non-empty array" if min_items == 1 else "an array"
