"""Natural-language questions: a lark grammar, a typed AST, and its compilation to SQLAlchemy Core."""
