"""Reference solutions: one module per lesson, one public name per answer cell.

Hidden from students: nothing in a student notebook imports this package, and the
course build never copies it.
"""
