"""`destkit ui`: the local web mapping tester (a Starlette app, `app.py`; its work, `workbench.py`; the page, `static/`).

May import the engine, authoring, config and spec rooms and the base modules; never `cli` (which starts it).
"""
