"""One step, two engines: the DuckDB-dialect SQL of each step, read for Spark by SQLGlot.

SQLGlot translates the syntax (QUALIFY, EXCLUDE, list lambdas, arg_max …). Where the same
text would *mean* something else on Spark, the bridge rewrites it here, each case tested
against DuckDB on the same rows (``tests/test_engine.py``):

- ``regexp_replace(s, p, r)`` without the ``'g'`` option replaces the first match in DuckDB
  and every match in Spark: the first-match form becomes ``^(.*?)(p)`` kept up to the match.
- ``histogram(x)`` (DuckDB's value → count map, ordered by value) has no Spark twin: it
  becomes the sorted map of ``collect_list`` counted per value.
- ``list_slice(l, begin, end)`` (1-based, inclusive) becomes ``slice(l, begin, length)``.

Written once means written portably too: ``array_length`` (not ``len``, which Spark reads as a
string's length), ``list_transform``/``list_filter`` (not list comprehensions), and ties
broken explicitly (``arg_max(x, struct_pack(n := …, name := …))``, never ``mode``), since
either engine may meet a group's rows in any order.

Time arithmetic is a known trap between the two (Spark truncates epoch conversions to whole
seconds); the turn log keeps ``ts`` as float seconds, and the steps only add and compare them.
"""

from __future__ import annotations

import functools

import sqlglot
from sqlglot import exp, transforms

__all__ = ["created_tables", "to_spark"]


def created_tables(script: str) -> list[tuple[str, str]]:
    """(table, SELECT in DuckDB's dialect) for each ``CREATE OR REPLACE TEMP TABLE t AS …``
    of a script, in order; any other statement is an error (a step creates a table)."""
    out = []
    for statement in sqlglot.parse(script, read="duckdb"):
        if statement is None:
            continue
        if not isinstance(statement, exp.Create) or statement.expression is None:
            raise ValueError(f"a step must create a table: {statement.sql('duckdb')[:80]}")
        out.append((statement.this.name, statement.expression.sql("duckdb")))
    return out


def _first_match_only(node: exp.Expr) -> exp.Expr:
    if not isinstance(node, exp.RegexpReplace):
        return node
    modifiers = node.args.get("modifiers")
    if modifiers is not None and "g" in modifiers.name:
        node.set("modifiers", None)  # Spark replaces every match already
        return node
    if not node.args.get("single_replace"):
        return node
    pattern = exp.func(
        "concat", exp.Literal.string("^(.*?)("), node.expression, exp.Literal.string(")")
    )
    replacement = exp.func("concat", exp.Literal.string("$1"), node.args["replacement"])
    out = exp.RegexpReplace(this=node.this, expression=pattern, replacement=replacement)
    return out


def _histogram(node: exp.Expr) -> exp.Expr:
    if not (isinstance(node, exp.Anonymous) and node.name.lower() == "histogram"):
        return node
    (value,) = node.expressions
    # value → count, sorted by value: the count of each distinct value in the group
    spark: exp.Expr = sqlglot.parse_one(
        "map_from_entries(array_sort(transform(array_distinct(collect_list(v)), "
        "k -> struct(k, size(filter(collect_list(v), x -> x = k))))))",
        read="spark",
    )
    out: exp.Expr = spark.transform(
        lambda n: value.copy() if isinstance(n, exp.Column) and n.name == "v" else n
    )
    return out


def _no_qualify(tree: exp.Expr) -> exp.Expr:
    """QUALIFY as a filter over a subquery, without its window column in the output (SQLGlot
    keeps the helper column ``_w`` in ``SELECT *``; DuckDB's QUALIFY never shows it)."""
    helpers: set[str] = set()
    for select in tree.find_all(exp.Select):
        if select.args.get("qualify") is not None:
            names = {a.alias for a in select.expressions if a.alias}
            helpers |= {f"_w{suffix}" for suffix in ("", *(f"_{i}" for i in range(2, 9)))} - names
    if not helpers:
        return tree
    tree = tree.transform(transforms.eliminate_qualify)
    for select in tree.find_all(exp.Select):
        where = select.args.get("where")
        if not (
            where and len(select.expressions) == 1 and isinstance(select.expressions[0], exp.Star)
        ):
            continue
        hidden = sorted({c.name for c in where.find_all(exp.Column)} & helpers)
        if hidden:
            select.expressions[0].set("except_", [exp.column(h) for h in hidden])
    return tree


def _list_slice(node: exp.Expr) -> exp.Expr:
    if not (isinstance(node, exp.Anonymous) and node.name.lower() == "list_slice"):
        return node
    items, begin, end = node.expressions
    length = exp.paren(exp.Sub(this=end.copy(), expression=begin.copy())) + 1
    return exp.func("slice", items, begin, length)


@functools.lru_cache(maxsize=512)
def to_spark(sql: str) -> str:
    """One statement of DuckDB's dialect as Spark SQL that gives the same rows."""
    tree = _no_qualify(sqlglot.parse_one(sql, read="duckdb"))
    tree = tree.transform(_first_match_only).transform(_histogram).transform(_list_slice)
    return tree.sql("spark")
