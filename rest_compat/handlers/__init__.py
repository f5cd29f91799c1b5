"""REST handlers per context: parse the request, call one use case, render the reply."""
