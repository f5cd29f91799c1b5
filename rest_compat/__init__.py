"""The Context Services 8.1 REST paths, as thin handlers over the domain use cases."""
