"""The ASGI application: middleware shared by both front doors, app factory and lifespan."""
