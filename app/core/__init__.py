"""The Qt-free core: everything that supervises, transports, buffers, records and parses.

Front ends (`app.gui`/`app.main_window`, `app.headless`, `app.cli`) and the Qt views in
`widgets/` use it; it never imports them, PyQt5 or pyqtgraph (tests/test_layers.py checks).
"""
