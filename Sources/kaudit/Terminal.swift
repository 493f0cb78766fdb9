import Glibc

/// What a command may assume about where its output goes.
enum Terminal {
    /// Whether `fd` is a terminal that should get ANSI colours (not when NO_COLOR is set).
    static func colors(_ fd: Int32) -> Bool { isatty(fd) == 1 && getenv("NO_COLOR") == nil }

    /// Columns to lay text out in: the terminal's width when `fd` is one, else `COLUMNS`,
    /// else 80.
    static func width(_ fd: Int32) -> Int {
        var size = winsize()
        if isatty(fd) == 1, ioctl(fd, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        if let columns = getenv("COLUMNS").flatMap({ Int(String(cString: $0)) }), columns > 0 { return columns }
        return 80
    }
}
