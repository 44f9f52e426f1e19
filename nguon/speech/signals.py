from django.dispatch import Signal

# Sent when a render finishes successfully (argument: render).
render_finished = Signal()
