def pytest_configure(config):
    config.addinivalue_line("markers", "valgrind: runs a short fit under valgrind memcheck "
                            "(valgrind is installed by .ci/run)")
