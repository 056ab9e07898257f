"""Storage: the schema, the database connection, and the store that speaks engine models."""
