"""Informers, the work queue, leader election, health and metrics serving; knows nothing of OpenBao.
"""
