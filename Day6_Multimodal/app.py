"""The Day 6 app as a file for Gradio's reload mode: ``gradio Day6_Multimodal/app.py`` serves it and restarts
it when a source file changes (``python Day6_Multimodal/app.py`` serves it once).

Gradio's reload mode looks for a module-level ``demo``; the package itself builds nothing at import
(``python -m applied_mlx.app`` is the way to serve it otherwise).
"""

from applied_mlx.app import build_demo

demo = build_demo()  # components found now, each loaded on its first request

if __name__ == "__main__":
    demo.launch(server_name="127.0.0.1")
