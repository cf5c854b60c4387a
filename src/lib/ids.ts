import { randomBytes } from "node:crypto";

/** A 64-hex-digit id, as Docker uses for containers and exec sessions. */
export function newId(): string {
  return randomBytes(32).toString("hex");
}

/** The 12-character short form Docker prints. */
export function shortId(id: string): string {
  return stripAlgorithm(id).slice(0, 12);
}

/** "sha256:abc" -> "abc"; other strings unchanged. */
export function stripAlgorithm(id: string): string {
  return id.startsWith("sha256:") ? id.slice(7) : id;
}

const ADJECTIVES = [
  "admiring", "adoring", "affectionate", "agitated", "amazing", "angry", "awesome", "blissful",
  "bold", "boring", "brave", "busy", "charming", "clever", "cool", "compassionate", "competent",
  "confident", "cranky", "crazy", "dazzling", "determined", "distracted", "dreamy", "eager",
  "ecstatic", "elastic", "elated", "elegant", "eloquent", "epic", "fervent", "festive", "flamboyant",
  "focused", "friendly", "frosty", "gallant", "gifted", "goofy", "gracious", "happy", "hardcore",
  "heuristic", "hopeful", "hungry", "infallible", "inspiring", "jolly", "jovial", "keen", "kind",
  "laughing", "loving", "lucid", "magical", "modest", "musing", "mystifying", "naughty", "nervous",
  "nifty", "nostalgic", "objective", "optimistic", "peaceful", "pedantic", "pensive", "practical",
  "priceless", "quirky", "quizzical", "relaxed", "reverent", "romantic", "sad", "serene", "sharp",
  "silly", "sleepy", "stoic", "strange", "stupefied", "suspicious", "sweet", "tender", "thirsty",
  "trusting", "upbeat", "vibrant", "vigilant", "vigorous", "wizardly", "wonderful", "xenodochial",
  "youthful", "zealous", "zen",
];

const SURNAMES = [
  "albattani", "allen", "almeida", "archimedes", "ardinghelli", "babbage", "banach", "bardeen",
  "bartik", "bell", "benz", "bhabha", "blackwell", "bohr", "booth", "borg", "bose", "brahmagupta",
  "brown", "buck", "burnell", "cannon", "carson", "cerf", "chandrasekhar", "chatelet", "clarke",
  "curie", "darwin", "davinci", "dijkstra", "einstein", "elion", "engelbart", "euclid", "euler",
  "fermat", "fermi", "feynman", "franklin", "galileo", "gates", "goldberg", "goodall", "hamilton",
  "hawking", "heisenberg", "hermann", "hodgkin", "hopper", "hypatia", "jackson", "jang", "jennings",
  "johnson", "kalam", "kapitsa", "keller", "kepler", "knuth", "lamarr", "lamport", "leakey",
  "lovelace", "lumiere", "mayer", "mccarthy", "mcclintock", "meitner", "mendel", "morse", "napier",
  "newton", "nobel", "noether", "pare", "pascal", "pasteur", "perlman", "pike", "poincare", "ptolemy",
  "raman", "ritchie", "rosalind", "sammet", "shannon", "shockley", "sinoussi", "stallman",
  "swanson", "swartz", "tesla", "thompson", "torvalds", "turing", "wescoff", "wiles", "williams",
  "wilson", "wozniak", "wright", "yalow", "yonath",
];

/** A Docker-style random container name such as "quirky_turing". */
export function randomName(): string {
  const pick = (list: string[]): string => list[randomBytes(2).readUInt16BE(0) % list.length];
  return `${pick(ADJECTIVES)}_${pick(SURNAMES)}`;
}
