"""ucs-graphql: a customer-context server speaking the Context Services 8.1 REST API, with GraphQL."""

__version__ = "8.1.0"
