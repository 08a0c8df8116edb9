"""A user's --where, checked so it cannot escape its parentheses or reach past the document it
is asked about; and names and values quoted for the SQL hyperamy writes itself."""
from __future__ import annotations

import json

from hyperamy.errors import InputError

# functions a condition may not call: what reads settings, the catalog, the environment or state
DENIED_FUNCTIONS = ("current_", "duckdb_", "pragma_", "pg_", "has_", "getenv", "version", "query", "read_",
                    "glob", "sql_auto_complete", "which_secret", "json_serialize", "json_deserialize",
                    "json_execute", "nextval", "currval", "setseed", "txid_", "in_search_path", "col_description",
                    "obj_description", "shobj_description", "format_pg_type", "format_type", "checkpoint",
                    "enable_", "disable_", "set_", "load", "install", "import", "export", "attach", "detach",
                    "getvariable")


def identifier(name: str) -> str:
    """A column name quoted for SQL, whatever it holds ("intensity_anger", "my field")."""
    return '"' + name.replace('"', '""') + '"'


def literal(text) -> str:
    """A value as an SQL string literal, whatever it holds ("O'Brien", a path)."""
    return "'" + str(text).replace("'", "''") + "'"


def condition(where: str, db=None) -> str:
    """A user's --where condition as one parenthesised SQL expression it cannot escape.

    DuckDB's own tokenizer reads it: its parentheses must balance outside string literals and
    it may hold no comment (which could hide a closing parenthesis); a statement is then a syntax
    error inside the parentheses. With `db` (a DuckDB connection) its parse tree is checked too:
    no subquery and no denied function (DENIED_FUNCTIONS), so it can only compute over the
    columns of the document it is asked about.
    """
    import duckdb

    if not isinstance(where, str) or not where.strip():
        raise InputError("--where is empty")
    tokens = duckdb.tokenize(where)
    encoded = where.encode("utf-8", "surrogatepass")  # the tokenizer's offsets count UTF-8 bytes
    depth = 0
    for i, (start, kind) in enumerate(tokens):
        end = tokens[i + 1][0] if i + 1 < len(tokens) else len(encoded)
        text = encoded[start:end].decode("utf-8", "replace")
        if kind == duckdb.token_type.comment:
            raise InputError(f"--where {where!r}: comments are not allowed")
        if kind == duckdb.token_type.operator:
            if ";" in text:
                raise InputError(f"--where {where!r}: takes one boolean expression, not statements "
                                 "(no ';' outside quotes)")
            for char in text:
                depth += {"(": 1, ")": -1}.get(char, 0)
                if depth < 0:
                    raise InputError(f"--where {where!r}: a ')' closes more than the condition opened")
    if depth:
        raise InputError(f"--where {where!r}: unbalanced parentheses")
    if db is not None:
        _check_tree(where, db)
    return f"({where}\n)"


def _check_tree(where: str, db) -> None:
    import duckdb

    try:
        found = db.execute("SELECT json_serialize_sql(?)", [f"SELECT 1 FROM documents WHERE ({where}\n)"]).fetchone()
    except duckdb.Error as exc:
        raise InputError(f"--where {where!r}: {str(exc).splitlines()[0]}") from None
    tree = json.loads(found[0])
    if tree.get("error"):
        message = tree.get("error_message", "not a condition")
        if message.endswith('at or near ")"'):  # often the ')' this module closes every condition with
            message = "syntax error: something is missing at the end of the condition (or before a ')')"
        raise InputError(f"--where {where!r}: {message}")
    statement = tree["statements"][0]["node"]
    for node in _nodes(statement.get("where_clause")):
        kind = node.get("class") or node.get("type")
        if kind == "SUBQUERY" or node.get("type") in ("SELECT_NODE", "SUBQUERY"):
            raise InputError(f"--where {where!r}: takes a condition on each document's own fields; "
                             "subqueries (SELECT, FROM) are not allowed")
        if kind == "FUNCTION":
            name = str(node.get("function_name", "")).lower()
            if name.startswith(DENIED_FUNCTIONS):
                raise InputError(f"--where {where!r}: the function {name}() is not allowed in a condition")


def _nodes(tree):
    """Every dict in a parse tree (json_serialize_sql), depth first."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            yield node
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
