final class Stores {}
