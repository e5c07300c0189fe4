"""payroute engine: the typed workflow model, its checks, compiler and evaluator.

The engine never imports :mod:`dsl`; the rule language is one front end among
two (the other being hand-written JSON configs).
"""
