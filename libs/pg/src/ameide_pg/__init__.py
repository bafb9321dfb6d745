"""PostgreSQL plumbing every deployable shares: database URLs, the connection pool, statement compilation.

``urls`` turns the one configured URL into the forms SQLAlchemy and libpq want; ``pool.ConnectionPool`` hands out
autocommit psycopg connections for hot paths; ``statements.compiled`` turns a SQLAlchemy statement into the SQL
text psycopg runs. Reads are written once as SQLAlchemy ``text()`` or Core statements, compiled at import, and
executed on a pool connection.
"""
