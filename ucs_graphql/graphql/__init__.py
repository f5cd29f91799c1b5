"""The GraphQL front door: Strawberry types and resolvers over the same use cases as REST."""
