"""Version information of smplestx."""

__version__ = '0.1.0'


def parse_version_info(version_str: str) -> tuple:
    """Parse a version string such as ``'0.1.0rc1'`` into a tuple.

    Args:
        version_str: The version string.

    Returns:
        A tuple like ``(0, 1, 0, 'rc1')``.
    """
    parts: list = []
    for item in version_str.split('.'):
        if item.isdigit():
            parts.append(int(item))
        elif 'rc' in item:
            major, rc = item.split('rc')
            parts.extend([int(major), f'rc{rc}'])
        else:
            parts.append(item)
    return tuple(parts)


version_info = parse_version_info(__version__)
