"""Option records built by field name, so fields the interface adds later stay unset."""

import dataclasses


def make(record, **values):
    """`record` with the given fields; every other field None (an `option` left out)."""
    return record(**{field.name: values.get(field.name) for field in dataclasses.fields(record)})
