package democity

import (
	"math/rand/v2"
	"slices"
	"strconv"
)

// Invented, Italian-sounding names. Some echo real places, none maps to one.
var (
	hoodNames = []string{
		"Borgo Nuovo", "Porta Verde", "Santa Lucia", "Ca' Rossa", "Villa Fiorita",
		"Borgo degli Ulivi", "Colle Aperto", "Prato Lungo", "Le Fornaci", "San Vito",
		"Porta Sole", "Campo dei Fiori", "Molino Vecchio", "Cascina Bianca", "Le Vigne",
		"Borgo Antico", "Quarto Alto", "Ponte Chiaro", "Giardino Alto", "Le Torri",
		"Fontana Viva", "Cascina Verde", "San Martino", "Porta Nuova", "Casale Grande",
		"I Gelsi", "Tre Pini", "Poggio Sereno", "Ronco Basso", "Chiaravalle Nuova",
		"La Darsena", "Le Rondini", "Monte Rosa", "Borgo Lavanda", "Ca' dei Sassi",
		"Quartiere dei Mulini", "Sant'Anna", "Valle Aurora", "Piazza d'Armi", "Le Filande",
		"Rivalta", "Corte Lunga", "Stella Polare", "Campagna Amica", "Ponte Rosso",
		"Cascina Gobba", "Bosco Chiaro", "Lago Blu", "Baia del Re", "Santa Chiara",
		"Colle dei Tigli", "Orti Nuovi", "Borgo Fiorito", "Ca' Bella", "Isola Serena",
		"Porta Luna", "San Lorenzo", "Le Cave", "Castagneto", "Vigna Alta",
	}
	// streetBases name streets after people, places, trees and ideas.
	streetBases = []string{
		"Aurora", "dei Tigli", "delle Rose", "dei Mille", "della Libertà", "Manin",
		"dei Gelsomini", "Garibaldi", "Mazzini", "Cavour", "Verdi", "Puccini",
		"Rossini", "Bellini", "Donizetti", "Vivaldi", "Leopardi", "Foscolo",
		"Manzoni", "Carducci", "Pascoli", "Ariosto", "Tasso", "Petrarca",
		"Boccaccio", "Giotto", "Tiziano", "Canova", "Bramante", "Volta",
		"Galvani", "Fermi", "Marconi", "Meucci", "Avogadro", "Spallanzani",
		"dei Platani", "degli Ulivi", "delle Magnolie", "dei Ciliegi", "dei Pioppi",
		"delle Betulle", "dei Cipressi", "delle Acacie", "dei Glicini", "delle Viole",
		"dei Girasoli", "delle Camelie", "Como", "Bergamo", "Brescia", "Pavia",
		"Lodi", "Cremona", "Mantova", "Varese", "Sondrio", "Lecco", "Novara",
		"Vercelli", "Piacenza", "Parma", "Verona", "Trento", "Genova", "Torino",
		"della Pace", "dell'Arte", "della Musica", "del Lavoro", "della Scienza",
		"dei Navigatori", "degli Artigiani", "dei Mercanti", "dei Tessitori",
		"dei Fabbri", "dei Vetrai", "dei Mugnai", "del Sole", "della Luna",
		"delle Stelle", "del Vento", "dell'Acqua", "della Fonte", "del Mulino",
		"della Cascina", "del Ponte", "del Castello", "della Torre", "del Porto",
		"delle Grazie", "San Marco", "San Giorgio", "Santa Marta", "San Paolo",
		"Sant'Ambrogio", "Santa Teresa", "San Bernardo", "Dante", "Beatrice",
		"Montale", "Ungaretti", "Quasimodo", "Deledda", "Montessori", "Levi",
		"Calvino", "Pirandello", "Verga", "Goldoni", "Alfieri", "Parini",
		"Monti", "Beccaria", "Torricelli", "Cassini", "Schiaparelli", "Natta",
	}
	// ringNames holds the choices for each ring road, innermost first.
	ringNames = [][]string{
		{"Cerchia delle Mura", "Cerchia dei Giardini", "Cerchia del Castello"},
		{"Circonvallazione Interna", "Circonvallazione dei Bastioni", "Cerchia dei Viali"},
		{"Circonvallazione Esterna", "Anello dei Viali", "Circonvallazione delle Cascine"},
	}
	parkBases = []string{
		"Sempreverde", "delle Farfalle", "dei Salici", "del Lago", "della Collina",
		"degli Aceri", "delle Querce", "dei Tulipani", "del Sole", "della Musica",
		"delle Rimembranze", "dei Ciliegi", "del Mulino", "della Cascina", "Belvedere",
		"delle Ninfee", "dei Pini", "del Bosco", "delle Betulle", "degli Aironi",
		"delle Lucciole", "della Fontana", "Arcobaleno", "delle Camelie", "dei Castagni",
		"del Roseto", "delle Api", "della Quercia Grande", "dei Gelsi", "delle Rondini",
		"del Ruscello", "delle Mimose", "dei Giochi", "della Luna", "dei Cigni",
		"delle Lavande", "dell'Orto Antico", "del Tramonto", "delle Magnolie", "dei Faggi",
		"delle Fontanelle", "della Libertà", "dei Tigli", "della Pace", "del Cedro",
		"degli Ulivi", "delle Viole", "dell'Aurora", "del Pettirosso", "dei Girasoli",
		"della Rugiada", "del Glicine", "degli Olmi", "dei Platani", "delle Ortensie",
		"della Brughiera", "del Laghetto", "dei Frassini", "della Meridiana", "dei Noci",
	}
)

// namer hands out names, each at most once per city.
type namer struct {
	rng  *rand.Rand
	used map[string]bool
	// streets is the queue of street names of each prefix, shuffled.
	streets map[string][]string
}

func newNamer(rng *rand.Rand) *namer {
	return &namer{rng: rng, used: map[string]bool{}, streets: map[string][]string{}}
}

func (n *namer) shuffled(list []string) []string {
	out := append([]string(nil), list...)
	n.rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// hoods returns the neighbourhood names in a seed-dependent order.
func (n *namer) hoods() []string { return n.shuffled(hoodNames) }

// street returns an unused street name, preferring the given prefixes in
// order ("Via", "Viale", "Corso"...), falling back on further prefixes when
// every base is used.
func (n *namer) street(prefixes ...string) string {
	all := slices.Concat(prefixes, []string{"Via", "Vicolo", "Strada", "Largo", "Viale", "Corso", "Contrada", "Passaggio"})
	for _, p := range all {
		q, ok := n.streets[p]
		if !ok {
			q = n.shuffled(streetBases)
		}
		for len(q) > 0 {
			name := p + " " + q[0]
			q = q[1:]
			if !n.used[name] {
				n.used[name] = true
				n.streets[p] = q
				return name
			}
		}
		n.streets[p] = q
	}
	// Unreachable with the lists above at the supported radii; keep names
	// unique anyway.
	name := "Strada " + strconv.Itoa(len(n.used)+1)
	n.used[name] = true
	return name
}

// fromList returns an unused name from list, in a seed-dependent order,
// prefixed.
func (n *namer) fromList(prefix string, list []string) string {
	for _, b := range n.shuffled(list) {
		name := prefix + b
		if !n.used[name] {
			n.used[name] = true
			return name
		}
	}
	name := prefix + strconv.Itoa(len(n.used)+1)
	n.used[name] = true
	return name
}
